"""What a test made on the target, removed afterwards, so a run leaves the developer's sandbox as
it found it: events with their booking rows (test-only SQL, ``svc_common.pg_cleanup``; the API's
DELETE refuses booked events), users with their email claims, and the S3 objects (uploads and
tickets) of the bookings listed under ``s3_bookings``. What stays: the messages on the Kafka topics
(they age out with the topics' retention)."""

from __future__ import annotations


def new_made() -> dict[str, list]:
    return {"events": [], "users": [], "s3_bookings": []}


def remove_made(endpoints: dict, made: dict[str, list]) -> None:
    from svc_common.pg_cleanup import purge_events

    purge_events(endpoints["DATABASE_URL"], made["events"], wait_decided_s=30)
    if not (made["users"] or made["s3_bookings"]):
        return
    import boto3

    aws = {"endpoint_url": endpoints["AWS_ENDPOINT_URL"], "region_name": endpoints["AWS_DEFAULT_REGION"],
           "aws_access_key_id": endpoints["AWS_ACCESS_KEY_ID"],
           "aws_secret_access_key": endpoints["AWS_SECRET_ACCESS_KEY"]}
    ddb, s3 = boto3.client("dynamodb", **aws), boto3.client("s3", **aws)
    for user in made["users"]:
        for key in (user["user_id"], "email#" + user["email"].lower()):
            ddb.delete_item(TableName=endpoints["USERS_TABLE"], Key={"user_id": {"S": key}})
    bucket = endpoints["RAW_DATA_BUCKET"]
    for booking_id in made["s3_bookings"]:
        for prefix in (f"uploads/{booking_id}/", f"tickets/{booking_id}.pdf"):
            for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
