#!/usr/bin/python3
"""The training scripts a researcher would write with PyTorch (float32, CPU,
one thread), for comparison with `lyapdiag train`'s kernels (bench/README.md).

Width d, depth L hidden d x d layers, 1-D input and output, Leaky ReLU slope
0.01, biases zero-initialized, MSE against a fixed batch of 128 points,
Adam at lr 1e-3. Two scripts:
  first:   torch.nn.Sequential of Linear + LeakyReLU, torch.optim.Adam, one
           network at a time (what one writes first);
  stacked: S networks' weights stacked into (S, out, in) tensors, one
           torch.baddbmm per layer, one Adam over the stacked tensors
           (exactly S independent Adams: Adam is elementwise).
Prints one BENCH line each: microseconds per network-step (forward,
backward, Adam update).

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/train_baseline.py [d] [depth] [batch] [seeds] [seconds]
"""
import sys
import time

try:
    import torch
except ImportError:
    print("BENCH train_baseline skipped: python3-torch is not installed (apt-get install python3-torch)")
    sys.exit(0)


def timed(step, seconds):
    step()  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return (time.perf_counter() - start) / n


def first_script(d, depth, batch, slope, seconds):
    layers = [torch.nn.Linear(1, d), torch.nn.LeakyReLU(slope)]
    for _ in range(depth):
        layers += [torch.nn.Linear(d, d), torch.nn.LeakyReLU(slope)]
    layers += [torch.nn.Linear(d, 1)]
    net = torch.nn.Sequential(*layers)
    for m in net:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(batch, 1) * 2 - 1
    y = x ** 3 - x

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()

    return timed(step, seconds)


def stacked_script(d, depth, batch, seeds, slope, seconds):
    shapes = [(d, 1)] + [(d, d)] * depth + [(1, d)]
    weights = [torch.randn(seeds, o, i, requires_grad=True) for o, i in shapes]
    biases = [torch.zeros(seeds, o, 1, requires_grad=True) for o, _ in shapes]
    opt = torch.optim.Adam(weights + biases, lr=1e-3)
    x = (torch.rand(seeds, 1, batch) * 2 - 1)
    y = x ** 3 - x

    def step():
        opt.zero_grad()
        h = x
        for k, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, w, h)
            if k < len(weights) - 1:
                h = torch.nn.functional.leaky_relu(h, slope)
        loss = ((h - y) ** 2).mean(dim=(1, 2)).sum()  # each network's own MSE
        loss.backward()
        opt.step()

    return timed(step, seconds) / seeds


def main():
    args = [float(a) for a in sys.argv[1:]]
    d, depth, batch, seeds, seconds = (list(map(int, args[:4])) + [8, 40, 128, 100][len(args[:4]):]) + \
        [args[4] if len(args) > 4 else 3.0]
    torch.set_num_threads(1)
    slope = 0.01
    first = first_script(d, depth, batch, slope, seconds)
    stacked = stacked_script(d, depth, batch, seeds, slope, seconds)
    print(f"BENCH train_baseline torch={torch.__version__} d={d} depth={depth} batch={batch} "
          f"first_us_per_network_step={first * 1e6:.1f} stacked_us_per_network_step={stacked * 1e6:.1f} seeds={seeds}")


if __name__ == "__main__":
    main()
