"""What moto 5.2's interpreter lacks for a Distributed Map over S3 objects (docs/batch.md).

- Failure tolerance: moto parses ToleratedFailureCount/Percentage(Path) but ignores them (a
  Map run with failed children succeeds). Here the Map run fails with
  `States.ExceedToleratedFailureThreshold`, as on AWS, when failed (or timed-out) children
  exceed a threshold. moto gives 0 for a threshold that is absent, so a zero threshold counts as
  not set unless both are zero (then any failure fails the run, AWS's default).
- The `s3:listObjectsV2` ItemReader: moto reads one page (1,000 keys) and fails on an empty
  prefix. Here it lists every page, gives zero items for an empty prefix, and shapes items as
  AWS does: {"Key", "Etag", "LastModified" (epoch seconds), "Size", "StorageClass"}.

The state machine definition is untouched: what deploys is a real Distributed Map.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, cast
from unittest import mock

from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3 import (  # noqa: E501
    ResourceEvalS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (  # noqa: E501
    DistributedIterationComponent,
    DistributedIterationComponentEvalInput,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

EXCEEDED = StatesErrorNameType.StatesExceedToleratedFailureThreshold


def threshold_exceeded(failed: int, total: int, count: int, percentage: float) -> bool:
    """Whether `failed` of `total` children exceed the thresholds (0 = not set, unless both)."""
    if failed == 0:
        return False
    if count == 0 and percentage == 0:
        return True
    over_count = count > 0 and failed > count
    over_percentage = percentage > 0 and 100.0 * failed / max(total, 1) > percentage
    return over_count or over_percentage


def _map_run_with_tolerance(original: Any) -> Any:
    def map_run(
        component: DistributedIterationComponent,
        env: Environment,
        eval_input: DistributedIterationComponentEvalInput,
    ) -> None:
        original(component, env, eval_input)
        items = eval_input.map_run_record.item_counter
        failed = items.failed.get() + items.timed_out.get()
        total = items.total.get()
        count = int(eval_input.tolerated_failure_count or 0)
        percentage = float(eval_input.tolerated_failure_percentage or 0.0)
        if not threshold_exceeded(failed, total, count, percentage):
            return
        env.stack.pop()  # the children's outputs: the Map state fails instead
        cause = (
            f"{failed} of {total} child executions failed, more than tolerated "
            f"(ToleratedFailureCount {count}, ToleratedFailurePercentage {percentage:g})"
        )
        raise FailureEventException(
            FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=EXCEEDED),
                event_type=HistoryEventType.MapRunFailed,
                event_details=cast(  # moto's TypedDict lists every kind of detail as required
                    EventDetails,
                    {
                        "mapRunFailedEventDetails": MapRunFailedEventDetails(
                            error=EXCEEDED.to_name(), cause=cause
                        )
                    },
                ),
            )
        )

    return map_run


def _list_every_object(
    env: Environment, resource_runtime_part: Any, state_credentials: Any
) -> None:
    s3 = ResourceEvalS3._get_s3_client(
        resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
    )
    parameters = env.stack.pop()
    items: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
        items.extend(
            {
                "Key": item["Key"],
                "Etag": item.get("ETag", ""),
                "LastModified": int(item["LastModified"].timestamp()),
                "Size": item["Size"],
                "StorageClass": item.get("StorageClass", "STANDARD"),
            }
            for item in page.get("Contents", [])
        )
    env.stack.append(items)


@contextmanager
def patched() -> Iterator[None]:
    """Failure tolerance and a complete S3 listing for Distributed Maps, while open."""
    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(
                DistributedIterationComponent,
                "_map_run",
                _map_run_with_tolerance(DistributedIterationComponent._map_run),
            )
        )
        stack.enter_context(
            mock.patch.object(
                ResourceEvalS3, "_handle_list_objects_v2", staticmethod(_list_every_object)
            )
        )
        yield
