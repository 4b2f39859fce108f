#!/usr/bin/env bash
# Builds the two base images docker/Dockerfile takes as build arguments, from local sources only
# (no container registry is needed):
#   OS image   a minimal Debian root file system made by debootstrap from Debian's packages
#   JRE image  a Java runtime made by jlink from the JDK in JAVA_HOME, in /opt/java/openjdk
# Each is rebuilt only when its recipe changed (a label on the image records the recipe's key),
# so a second run takes a second. Needs root for debootstrap (uses sudo otherwise), podman,
# debootstrap and a JDK 21+ in JAVA_HOME.
#
# usage: docker/local-base.sh OS_IMAGE JRE_IMAGE      (e.g. localhost/mercuryo-bridge-os:bookworm)
set -euo pipefail

os_image=${1:?usage: $0 OS_IMAGE JRE_IMAGE}
jre_image=${2:?usage: $0 OS_IMAGE JRE_IMAGE}
# The same Debian release as the official base (debian:bookworm-slim) and the build machines.
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the jar needs (jdeps --print-module-deps, plus what Kafka, JDBC and TLS load by name).
modules=java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.naming,\
java.net.http,java.rmi,java.security.jgss,java.security.sasl,java.sql,java.xml,jdk.charsets,jdk.crypto.ec,\
jdk.management,jdk.naming.dns,jdk.security.auth,jdk.security.jgss,jdk.unsupported,jdk.zipfs
podman=${PODMAN:-podman}
label=dev.mercuryobridge.base-recipe

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

work=$(mktemp -d)
trap '$sudo rm -rf "$work"' EXIT

current_key() {
  $podman image inspect --format "{{index .Labels \"$label\"}}" "$1" 2>/dev/null || true
}

build_os() {
  # Bump the trailing number when the steps below change.
  local key="debootstrap minbase $suite $mirror 1"
  if [ "$(current_key "$os_image")" = "$key" ]; then
    echo "base OS image $os_image is up to date ($suite)"
    return
  fi
  echo "building base OS image $os_image: debootstrap --variant=minbase $suite (about a minute)"
  local start=$SECONDS
  $sudo debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 || {
    echo "debootstrap failed; its log:" >&2; tail -n 30 "$work/debootstrap.log" >&2; return 1; }
  # What debian:*-slim leaves out as well: documentation, manuals, package lists and caches.
  $sudo rm -rf "$work"/rootfs/usr/share/{doc,man,info}/* "$work"/rootfs/var/lib/apt/lists/* \
    "$work"/rootfs/var/cache/apt/*.bin "$work"/rootfs/var/cache/apt/archives/*.deb
  $sudo find "$work/rootfs/var/log" -type f -delete
  $sudo tar -C "$work/rootfs" --numeric-owner -c . \
    | $podman import --change "LABEL $label=\"$key\"" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' - "$os_image" > /dev/null
  echo "base OS image $os_image built in $((SECONDS - start)) s"
}

build_jre() {
  local java_home=${JAVA_HOME:?JAVA_HOME must point to a JDK 21+ (make finds one)}
  local version
  version=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$java_home/release")
  local key="jlink $version $modules 2"
  if [ "$(current_key "$jre_image")" = "$key" ]; then
    echo "base JRE image $jre_image is up to date (Java $version)"
    return
  fi
  echo "building base JRE image $jre_image: jlink from $java_home (Java $version)"
  local start=$SECONDS
  "$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=zip-6 --generate-cds-archive --output "$work/openjdk"
  "$work/openjdk/bin/java" -version 2>&1 | sed 's/^/  /'
  printf 'FROM scratch\nLABEL %s="%s"\nCOPY openjdk /opt/java/openjdk\n' "$label" "$key" > "$work/Containerfile"
  $podman build --quiet -f "$work/Containerfile" -t "$jre_image" "$work" > /dev/null
  echo "base JRE image $jre_image built in $((SECONDS - start)) s"
}

build_os
build_jre
