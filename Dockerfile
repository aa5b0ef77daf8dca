# graph-service: the GraphQL service (spec §5), talking to Neo4j over Bolt.
# Built and run by docker-compose.yml; alone: docker build -t graph-service . &&
#   docker run -p 8000:8000 -e NEO4J_PASSWORD=... graph-service serve --host 0.0.0.0 --store bolt://HOST:7687
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md MANIFEST.in ./
COPY graph_service ./graph_service
COPY schema ./schema
RUN pip install . \
    && useradd --create-home --uid 10001 graph-service

USER graph-service
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"

ENTRYPOINT ["graph-service"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--store", "bolt://neo4j:7687"]
