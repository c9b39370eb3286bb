# Before: the asset build runs in the image's own stage. For linux/arm64 on an x86-64
# builder it runs under QEMU, several times slower, although its output is the same on
# every CPU. `mpbuild plan` names line 8 and suggests the change in after.Dockerfile.
ARG BASE=127.0.0.1:5000/mpbuild-test/busybox:latest
FROM ${BASE}
ARG NONCE
COPY gen-assets.sh /usr/local/bin/gen-assets.sh
RUN echo "${NONCE}" > /nonce && gen-assets.sh /srv/assets
CMD ["cat", "/srv/assets/manifest.txt"]
