#!/bin/sh
# Every Python snippet of the docs runs as written (issue 14).
#
# Where the snippets are: README, postproc/README.md, and the module
# docstrings of postproc/*.py. What a snippet is (the rule the docs follow):
#   - a paragraph of lines indented by at least 4 spaces: consecutive
#     non-blank lines, ended by a blank line or a line indented less (so a
#     Python snippet has no blank line inside); the first line's
#     indentation is removed from every line;
#   - it is Python when its first line is an import (`import X` or
#     `from X import`): it is run as a script with $PYTHON3 (Debian's /usr/bin/python3);
#   - it is a shell one-liner calling Python when its first line starts with
#     `/usr/bin/python3 -c`: it is run with sh;
#   - every other block (shell commands, `$ ...` transcripts, tables) is not
#     run. A block with a line starting with `import ` or `from ... import`
#     that is not first is refused: it looks like Python but would be
#     skipped, so begin it with its imports.
# A Python snippet whose import lines name torch needs PyTorch: without it
# (python3-torch) the snippet is skipped, and the test says which.
# Each runs in a fresh copy of one work directory laid out as the top of
# the tree: postproc/ (copied), ./lyapdiag (the built program), phase.nc
# (inputs/quick.ini's grid with 4 replicas and depths 10, 100: the axes the
# snippets name, in a second) and W.nc (`lyapdiag init --width 8 --slope
# 0.01 --depth 60`). A snippet fails on any exception or non-zero exit.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
if ! "$PYTHON3" -c 'import xarray, netCDF4, numpy' 2>/dev/null; then
  echo "SKIP: $PYTHON3 lacks xarray/netCDF4 (apt-get install python3-xarray python3-netcdf4)"; exit 77
fi
mkdir tree
cp -R "$top_srcdir/postproc" tree/postproc && rm -rf tree/postproc/__pycache__
ln -s "$LYAPDIAG" tree/lyapdiag
sed -e 's/^replicas .*/replicas = 4/' -e 's/^depths .*/depths = 10, 100/' "$top_srcdir/inputs/quick.ini" >quick4.ini
mpi 2 "$LYAPDIAG" run quick4.ini --quiet --output tree/phase.nc || { fail "quick deck (4 replicas) run"; finish; }
"$LYAPDIAG" init --width 8 --slope 0.01 --depth 60 --output tree/W.nc >/dev/null 2>&1 || { fail "init"; finish; }

# Extract: one file per snippet, snippets/NNN.py or NNN.sh, and its origin in NNN.where.
mkdir snippets
"$PYTHON3" - "$top_srcdir" <<'PY' || { fail "snippet extraction"; finish; }
import ast, glob, os, re, sys
top = sys.argv[1]
sources = [("README", open(os.path.join(top, "README")).read(), 0),
           ("postproc/README.md", open(os.path.join(top, "postproc/README.md")).read(), 0)]
for path in sorted(glob.glob(os.path.join(top, "postproc", "*.py"))):
    tree = ast.parse(open(path).read())
    doc = ast.get_docstring(tree, clean=False)
    if doc:  # the docstring starts on line 1 after the opening quotes
        sources.append(("postproc/" + os.path.basename(path), doc, tree.body[0].lineno - 1))
n, bad = 0, 0
for name, text, offset in sources:
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].startswith("    ") or not lines[i].strip():
            i += 1
            continue
        indent = len(lines[i]) - len(lines[i].lstrip(" "))
        j = i
        while j < len(lines) and lines[j].strip() and lines[j].startswith(" " * indent):
            j += 1
        block = [l[indent:] for l in lines[i:j]]
        where = f"{name}:{offset + i + 1}"
        if re.match(r"import \w|from [\w.]+ import ", block[0]):
            kind = "py"
        elif block[0].startswith("/usr/bin/python3 -c"):
            kind = "sh"
        else:
            kind = None
            if any(re.match(r"\s*(import \w|from \S+ import )", l) for l in block):
                print(f"FAIL: {where}: looks like Python but does not start with its imports, so it would not run")
                bad += 1
        if kind:
            n += 1
            base = os.path.join("snippets", f"{n:03d}")
            open(f"{base}.{kind}", "w").write("\n".join(block) + "\n")
            torch = kind == "py" and any(re.match(r"(import|from)\b.*\btorch\b", l) for l in block)
            open(f"{base}.where", "w").write(where + (" torch" if torch else "") + "\n")
        i = j
print(f"found {n} snippets")
sys.exit(1 if bad or n == 0 else 0)
PY

have_torch=0
"$PYTHON3" -c 'import torch' 2>/dev/null && have_torch=1
count_readme=0 count_postproc=0
for snippet in snippets/*.py snippets/*.sh; do
  [ -e "$snippet" ] || continue
  set -- $(cat "${snippet%.*}.where")
  where=$1 needs=${2:-}
  case $where in README:*) count_readme=$((count_readme + 1)) ;; *) count_postproc=$((count_postproc + 1)) ;; esac
  if [ "$needs" = torch ] && [ "$have_torch" -eq 0 ]; then
    echo "SKIP: $where: needs torch, which $PYTHON3 lacks (apt-get install python3-torch)"
    continue
  fi
  rm -rf run && cp -R tree run
  case $snippet in
    *.py) (cd run && "$PYTHON3" "../$snippet") >out 2>&1 ;;
    *.sh) (cd run && sh "../$snippet") >out 2>&1 ;;
  esac
  status=$?
  if [ "$status" -eq 0 ]; then
    pass "$where runs ($(wc -l <"$snippet") lines$([ "$needs" = torch ] && echo ', torch'))"
  else
    fail "$where exits $status:"; sed 's/^/    /' "$snippet"; tail -5 out
  fi
done
# The docs hold Python snippets in both places; none may vanish unnoticed.
[ "$count_readme" -ge 4 ] && pass "README: $count_readme snippets" || fail "README: $count_readme snippets found, expected at least 4"
[ "$count_postproc" -ge 3 ] && pass "postproc: $count_postproc snippets" || fail "postproc: $count_postproc snippets found, expected at least 3"
finish
