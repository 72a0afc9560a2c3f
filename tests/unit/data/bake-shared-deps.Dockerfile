FROM 127.0.0.1:32907/base/busybox:1 AS deps
WORKDIR /d
COPY requirements.txt ./
RUN sleep 3 && cat requirements.txt > /d/installed
FROM 127.0.0.1:32907/base/busybox:1 AS runtime
WORKDIR /app
COPY --from=deps /d/installed /app/installed
ARG VARIANT
RUN echo $VARIANT > /app/variant
