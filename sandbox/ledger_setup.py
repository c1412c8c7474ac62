"""The environment's deployment ledger in moto: the DynamoDB table and the SNS topic the catalog names
(``ledger_table``, ``notification_topic_arn``; services.yaml does for dev and prod), made as
template.yaml makes them (``orchestrator.aws.ledger.create_table_request``, which
tests/hooks/test_template_ledger.py keeps equal to template.yaml's LedgerTable; ``provision.ensure_topic``).

A world component. Its work runs on its own thread from the moment moto is up: moto loads its
DynamoDB and SNS backends on their first requests (0.4-1.3 s and 0.3-0.5 s on a loaded 2-core
machine), and meanwhile the world's main thread starts the emulators and makes its clients, so the
two overlap instead of adding up. ``wait()`` (the world's "ledger" step, before the rules go on the
bus) joins it and raises what it raised.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from orchestrator.catalog import ResolvedService
from sandbox.moto_server import sandbox_client_factory
from sandbox.provision import ensure_ledger_table, ensure_topic

JOIN_SECONDS = 120.0  # real seconds: moto answers two requests in far less, even loaded


class LedgerResources:
    """``start()`` makes the table(s) and topic(s) on a thread; ``wait()`` -> catalog topic ARN -> moto's."""

    def __init__(self, services: Iterable[ResolvedService], region: str, moto_url: str) -> None:
        settings = [service.settings for service in services]
        self.tables = sorted({s.ledger_table for s in settings if s.ledger_table})
        self.topic_arns = sorted({s.notification_topic_arn for s in settings if s.notification_topic_arn})
        self.region = region
        self.moto_url = moto_url
        self.topics: dict[str, str] = {}
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def configured(self) -> bool:
        """The catalog names a ledger table or a topic for these services."""
        return bool(self.tables or self.topic_arns)

    def start(self) -> LedgerResources:
        if self.configured:
            self._thread = threading.Thread(target=self._make, name="ledger-resources", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self.wait(raise_error=False)

    def wait(self, raise_error: bool = True) -> dict[str, str]:
        """The topics made (catalog ARN -> moto's ARN) once the thread is done; its error, if any."""
        if self._thread is not None:
            self._thread.join(JOIN_SECONDS)
            if self._thread.is_alive():
                self._error = self._error or TimeoutError("moto did not make the ledger's table and topic")
        if raise_error and self._error is not None:
            raise self._error
        return dict(self.topics)

    def _make(self) -> None:
        make = sandbox_client_factory(self.region)
        made = []
        try:
            if self.tables:
                dynamodb = make("dynamodb", self.moto_url)
                made.append(dynamodb)
                for table in self.tables:
                    ensure_ledger_table(dynamodb, table)
            if self.topic_arns:
                sns = make("sns", self.moto_url)
                made.append(sns)
                for arn in self.topic_arns:
                    self.topics[arn] = ensure_topic(sns, arn)
        except BaseException as err:  # raised again by wait(), on the world's thread
            self._error = err
        finally:
            for client in made:
                client.close()
