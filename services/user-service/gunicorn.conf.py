"""gunicorn settings; every value can be overridden from the environment."""
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8003')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = None  # the app writes one JSON line per request
errorlog = "-"
wsgi_app = "user_service:create_app()"
pythonpath = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common")
# several gunicorn masters share a host in the sandbox; gunicorn's default control socket path would collide
control_socket_disable = True


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set, drop a dead worker's live gauges from /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
