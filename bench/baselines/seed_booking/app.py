"""The original system's booking service, as its description has it, for `make bench` to measure
beside ours (never deployed): a Flask app run with `python app.py` (Flask's development server)
whose POST /book sends {event_id, user_id, ticket_count, timestamp} with kafka-python's
KafkaProducer (JSON value serializer) and answers 202. No idempotency, no validation beyond
Flask's JSON parsing, no seat reservation: what the seed did.

    KAFKA_BROKERS=127.0.0.1:9092 PORT=5000 python app.py

SEED_TOPIC is the seed's `ticket-bookings` unless set: the bench gives it a topic of its own, so
that the sandbox's consumer and analytics job never take its records for malformed bookings (the
broker's work per record is the same)."""

import json
import os
import time

from flask import Flask, jsonify, request
from kafka import KafkaProducer

app = Flask(__name__)
producer = KafkaProducer(bootstrap_servers=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092").split(","),
                         value_serializer=lambda value: json.dumps(value).encode("utf-8"))
TOPIC = os.environ.get("SEED_TOPIC", "ticket-bookings")


@app.route("/book", methods=["POST"])
def book():
    data = request.get_json()
    booking = {"event_id": data["event_id"], "user_id": data["user_id"], "ticket_count": data["ticket_count"],
               "timestamp": time.time()}
    producer.send(TOPIC, booking)
    return jsonify({"status": "booking request received"}), 202


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
