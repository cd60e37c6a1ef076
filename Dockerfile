# syntax=docker/dockerfile:1
# Two images from one file, for those who build with a container engine:
#   docker build --target manager -t ghcr.io/ftps-operator/ftps-operator:v0.1.0 .
#   docker build --target ftpsd   -t ghcr.io/ftps-operator/ftpsd:v0.1.0 .
# `make image` builds the same images without an engine (hack/image).

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -o /out/manager . && \
    go build -trimpath -o /out/ftpsd ./ftpsd/cmd/ftpsd && \
    mkdir -p /out/etc /out/tmp /out/home/nonroot && chmod 1777 /out/tmp && \
    chown 65532:65532 /out/home/nonroot && chmod 700 /out/home/nonroot && \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/out/etc/passwd && \
    printf 'root:x:0:\nnonroot:x:65532:\n' >/out/etc/group

# The shared root file system: CA roots, passwd, /tmp; no shell.
FROM scratch AS base
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/etc/ /etc/
COPY --from=build /out/tmp /tmp
COPY --from=build /out/home /home
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532

FROM base AS ftpsd
COPY --from=build /out/ftpsd /ftpsd
ENTRYPOINT ["/ftpsd"]

FROM base AS manager
COPY --from=build /out/manager /manager
ENTRYPOINT ["/manager"]
