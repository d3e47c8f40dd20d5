"""frontend: the web page and the API gateway (``/api/*``). The app factory is ``frontend.app:create_app`` (the same module in every service)."""
