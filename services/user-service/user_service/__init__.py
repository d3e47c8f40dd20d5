"""user-service: register and look up users in DynamoDB. The app factory is ``user_service.app:create_app`` (the same module in every service)."""
