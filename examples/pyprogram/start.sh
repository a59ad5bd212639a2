#!/bin/sh
# WeCom-style start script (启动命令 /bin/sh, 启动参数 this file): run the
# program with the SDK on the path. WeCom's images keep the SDK in
# /usr/local/wwspecdemo/sdk; here WWSPEC_SDK_DIR names it, else the copy in
# this repository (openzone sdk export --lang python --dir DIR writes one).
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="${WWSPEC_SDK_DIR:-$here/../../sdk/python}${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
exec "${PYTHON:-python3}" "$here/program.py" "$@"
