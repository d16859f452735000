# syntax=docker/dockerfile:1
# Build: docker build -t lendscope .
# Run:   docker run -p 3000:3000 -v lendscope-data:/var/lib/lendscope lendscope
#        (PostgreSQL: -e DATABASE_URL=postgres://user:pass@host/db)

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake libclang-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same set-up and release build as ./scripts/run.sh (no cargo-leptos needed), with the
# `train` feature: `lendscope demo` and retraining work in the image.
RUN ./scripts/setup.sh && ./scripts/build.sh --release

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/lendscope lendscope \
 && mkdir -p /var/lib/lendscope \
 && chown lendscope /var/lib/lendscope
COPY --from=build /src/target/release/lendscope /usr/local/bin/lendscope
COPY --from=build /src/target/site /srv/lendscope/site
ENV LENDSCOPE_SITE_ROOT=/srv/lendscope/site \
    LENDSCOPE_LISTEN=0.0.0.0:3000 \
    LENDSCOPE_LOG_FORMAT=json \
    DATABASE_URL=sqlite:///var/lib/lendscope/lendscope.db
USER lendscope
WORKDIR /var/lib/lendscope
VOLUME /var/lib/lendscope
EXPOSE 3000
STOPSIGNAL SIGTERM
ENTRYPOINT ["lendscope"]
CMD ["serve"]
