# haproxy:2.6 made from Debian's haproxy (bookworm: 2.6.x), for hosts that
# reach no registry (see ../base-images.sh). Like the official image: reads
# /usr/local/etc/haproxy/haproxy.cfg, runs in the foreground as user haproxy,
# stops on SIGUSR1 (graceful).
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /usr/local/etc/haproxy /var/lib/haproxy \
    && cp /etc/haproxy/haproxy.cfg /usr/local/etc/haproxy/haproxy.cfg
STOPSIGNAL SIGUSR1
USER haproxy
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
