"""Jobs run by the worker (``manage.py db_worker``)."""

from django_tasks import task

from .services import delivery_attempt


@task()
def webhook_deliver(*, delivery_id: str) -> str:
    delivery = delivery_attempt(delivery_id=delivery_id)
    return delivery.status if delivery else "deleted"
