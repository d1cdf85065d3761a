# redis:7.0 made from Debian's redis-server (bookworm: 7.0.x), for hosts that
# reach no registry (see ../base-images.sh). Like the official image: data in
# /data, runs as the redis user, `redis-server ARGS` as the command.
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /data && chown redis:redis /data
VOLUME /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
