#!/usr/bin/env bash
# setup.sh - installs the Debian 12 packages that building, testing and running enas need, and only
# those that are missing (so it is quick and needs no root on a machine that already has them).
set -euo pipefail

packages=(
  gcc libc6-dev make cmake pkg-config binutils   # toolchain (nm for tools/check_exports.sh)
  libconfig-dev                                  # settings files
  libstb-dev                                     # enas eval --images: decoding and resizing pictures
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev  # enas export: protobuf-c and Debian's onnx.proto
  python3-onnx python3-opencv                    # test_export: ONNX's checker, OpenCV's dnn as the runtime
  libdnnl-dev ocl-icd-opencl-dev                 # oneDNN 2.6 (its CMake package requires OpenCL)
  graphviz                                       # `dot`: architecture pictures
  gnuplot-nox                                    # learning-curve plots
  clang libclang-rt-14-dev llvm-14               # tools/fuzz.sh: libFuzzer, the sanitizers' runtimes, and
                                                 # llvm-symbolizer (reports with function names)
  clang-format clang-tidy libomp-14-dev          # tools/lint.sh: the suite's format and clang-tidy checks
                                                 # (clang reads the OpenMP sources: its omp.h)
  gdb                                            # test_interrupt_points: a stop request at exact points
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
