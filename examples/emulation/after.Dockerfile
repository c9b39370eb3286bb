# After: the asset build moved into a stage that runs on the builder's own CPU
# (`--platform=$BUILDPLATFORM`): natively, once per platform built, whatever the image
# is for. The image's stage only copies its output; it runs no program, so nothing in it
# is emulated. The image holds the same files as before.Dockerfile's.
ARG BASE=127.0.0.1:5000/mpbuild-test/busybox:latest
FROM --platform=$BUILDPLATFORM ${BASE} AS assets
ARG NONCE
COPY gen-assets.sh /usr/local/bin/gen-assets.sh
RUN echo "${NONCE}" > /nonce && gen-assets.sh /out

FROM ${BASE}
COPY --from=assets /out /srv/assets
CMD ["cat", "/srv/assets/manifest.txt"]
