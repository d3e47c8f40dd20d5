# gunicorn -c gunicorn.conf.py 'event_catalog.app:create_app()'   (cwd: services/event-catalog)
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8002')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
pythonpath = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common")
accesslog = None  # the app writes JSON access logs
timeout = 30
graceful_timeout = 20
# several gunicorns run side by side (one per service): no shared ~/.gunicorn control socket
control_socket_disable = True


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
