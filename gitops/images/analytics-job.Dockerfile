# The Flink analytics job (flink/) as one image: PyFlink runs the job in an embedded mini-cluster.
#   docker build -f gitops/images/analytics-job.Dockerfile -t ticketing/analytics-job:0.1.0 flink
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir apache-flink==1.19.3 confluent-kafka
WORKDIR /app
COPY analytics_job.py heartbeat.py ./
# Kafka SQL connector jar (flink-sql-connector-kafka 3.2.0-1.19), found through FLINK_CONNECTOR_JARS.
ADD https://repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/3.2.0-1.19/flink-sql-connector-kafka-3.2.0-1.19.jar /opt/flink-connectors/
ENV FLINK_CONNECTOR_JARS=/opt/flink-connectors/flink-sql-connector-kafka-3.2.0-1.19.jar
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app && chown -R app /app
USER 10001
CMD ["python", "analytics_job.py"]
