#!/bin/sh
# The steps around the Debian package install that both image builds share:
# mmdebstrap runs them as hooks on the root filesystem it builds, the
# Dockerfile runs them on `/` around apt-get. Keep them free of anything that
# differs between two runs (random keys, dates, host names).
#   rootfs.sh before ROOT              before the packages are installed
#   rootfs.sh after ROOT NAME UID GID HOME   after: the non-root user, cleanup
set -eu
phase=$1
root=$2

case "$phase" in
before)
  # postgresql-15 would otherwise initdb a cluster nobody uses, with a random
  # system identifier; the image only needs the binaries (the restore drill).
  # A drop-in, not createcluster.conf itself: ucf would ask about a changed
  # conffile and record the temporary file name of its question.
  mkdir -p "$root/etc/postgresql-common/createcluster.d"
  echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.d/cutover.conf"
  ;;
after)
  name=$3 uid=$4 gid=$5 home=$6
  grep -q "^$name:" "$root/etc/group" || echo "$name:x:$gid:" >>"$root/etc/group"
  grep -q "^$name:" "$root/etc/passwd" ||
    echo "$name:x:$uid:$gid:cutover:$home:/usr/sbin/nologin" >>"$root/etc/passwd"
  mkdir -p "$root$home"
  chown "$uid:$gid" "$root$home"
  chmod 0750 "$root$home"
  # ssl-cert generates a self-signed key pair at install time: random, and
  # unused (PostgreSQL runs here only as the drill's local scratch server).
  for f in "$root"/etc/ssl/certs/*; do
    if [ -L "$f" ] && [ "$(readlink "$f")" = ssl-cert-snakeoil.pem ]; then rm -f "$f"; fi
  done
  rm -f "$root/etc/ssl/certs/ssl-cert-snakeoil.pem" "$root/etc/ssl/private/ssl-cert-snakeoil.key"
  # Caches and logs of the install: they differ between runs and nothing reads them.
  rm -rf "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/var/cache/ldconfig/aux-cache
  ;;
*)
  echo "rootfs.sh: unknown phase '$phase'" >&2
  exit 2
  ;;
esac
