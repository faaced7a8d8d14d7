#!/usr/bin/env bash
# get_cifar10.sh - downloads CIFAR-10 (binary version), checks the published MD5 and unpacks it to
# DIR/cifar-10-batches-bin, where `enas --data DIR` (or ENAS_DATA=DIR) finds it. Does nothing if the
# files are already there. Usage: tools/get_cifar10.sh [DIR]   (DIR defaults to ./data)
# Testing overrides: ENAS_CIFAR_URL (any URL curl takes, file:// included), ENAS_CIFAR_MD5.
set -euo pipefail

url=${ENAS_CIFAR_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}
want_md5=${ENAS_CIFAR_MD5:-c32a1d4ab5d03f1284b67883e8d87530}
files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

die() {
  echo "get_cifar10.sh: $*" >&2
  exit 1
}

if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  echo "usage: $0 [DIR]   (unpacks CIFAR-10 to DIR/cifar-10-batches-bin; DIR defaults to ./data)" >&2
  [ $# -gt 1 ] && exit 2
  exit 0
fi
dir=${1:-./data}
dest="$dir/cifar-10-batches-bin"

complete() {
  local f
  for f in "${files[@]}"; do
    [ -f "$1/$f" ] || return 1
  done
}

if complete "$dest"; then
  echo "CIFAR-10 is already in $dest"
  exit 0
fi

md5_of() {
  if command -v md5sum >/dev/null 2>&1; then
    md5sum "$1" | cut -d' ' -f1
  elif command -v md5 >/dev/null 2>&1; then
    md5 -q "$1"
  else
    die "neither md5sum nor md5 is installed; cannot check the download"
  fi
}

mkdir -p "$dir"
work=$(mktemp -d "$dir/.get_cifar10.XXXXXX")
# a failed or interrupted run leaves no partial download or half-unpacked tree behind
trap 'rm -rf "$work"' EXIT
tarball="$work/cifar-10-binary.tar.gz"

echo "downloading $url"
if command -v curl >/dev/null 2>&1; then
  curl -fL --retry 3 -o "$tarball" "$url" || die "download of $url failed"
elif command -v wget >/dev/null 2>&1; then
  wget -O "$tarball" "$url" || die "download of $url failed"
else
  die "neither curl nor wget is installed; download $url by hand and unpack it into $dir"
fi

got_md5=$(md5_of "$tarball")
if [ "$got_md5" != "$want_md5" ]; then
  rm -f "$tarball"
  die "MD5 mismatch for $url: got $got_md5, expected $want_md5; the bad download was deleted"
fi

tar -xzf "$tarball" -C "$work" || die "cannot unpack $tarball"
complete "$work/cifar-10-batches-bin" || die "the archive from $url lacks some of: ${files[*]}"
# replace an incomplete earlier copy only now that a complete one is ready
rm -rf "$dest"
mv "$work/cifar-10-batches-bin" "$dest"
echo "CIFAR-10 is in $dest; run enas with --data $dir (or ENAS_DATA=$dir)"
