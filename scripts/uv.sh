# Sourced by the other scripts: find uv, installing it with pip when it is missing. Sets $UV.
export UV_PYTHON_DOWNLOADS=never
if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then
  UV="uv"
else
  if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "Installing uv with pip..." >&2
    python3 -m pip install --quiet uv >&2
  fi
  UV="python3 -m uv"
fi
