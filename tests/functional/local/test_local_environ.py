"""The per-thread environment view: a handler's variables never leak into other threads."""

from __future__ import annotations

import os
import threading

from mlops.local.environ import LayeredEnviron, layered_environ


def test_a_layer_overlays_and_hides_for_its_thread_only() -> None:
    with layered_environ() as environ:
        assert os.environ is environ
        os.environ["LOCAL_TEST_BASE"] = "base"
        os.environ["LOCAL_TEST_HIDDEN"] = "secret"
        seen_elsewhere: dict[str, str | None] = {}

        with environ.layer({"LOCAL_TEST_FUNCTION": "fn"}, {"LOCAL_TEST_HIDDEN"}):
            # this thread sees the function's view
            assert os.environ["LOCAL_TEST_FUNCTION"] == "fn"
            assert "LOCAL_TEST_HIDDEN" not in os.environ
            assert os.environ.get("LOCAL_TEST_BASE") == "base"
            assert "LOCAL_TEST_FUNCTION" in dict(os.environ)
            os.environ["LOCAL_TEST_WRITTEN"] = "by handler"
            del os.environ["LOCAL_TEST_BASE"]
            assert "LOCAL_TEST_BASE" not in os.environ

            # another thread sees the real environment
            def look() -> None:
                for name in ("LOCAL_TEST_FUNCTION", "LOCAL_TEST_HIDDEN", "LOCAL_TEST_BASE"):
                    seen_elsewhere[name] = os.environ.get(name)

            thread = threading.Thread(target=look)
            thread.start()
            thread.join()

        assert seen_elsewhere == {
            "LOCAL_TEST_FUNCTION": None,
            "LOCAL_TEST_HIDDEN": "secret",
            "LOCAL_TEST_BASE": "base",
        }
        # nothing the handler did reached the process
        assert "LOCAL_TEST_WRITTEN" not in os.environ
        assert os.environ["LOCAL_TEST_BASE"] == "base"
        del os.environ["LOCAL_TEST_BASE"]
        del os.environ["LOCAL_TEST_HIDDEN"]
    assert not isinstance(os.environ, LayeredEnviron)
    assert "LOCAL_TEST_BASE" not in os.environ


def test_readers_in_other_threads_never_fail_while_layers_come_and_go() -> None:
    errors: list[BaseException] = []
    leaked: list[str] = []
    with layered_environ() as environ:
        os.environ["MLOPS_LOCAL_TEST"] = "process"

        def handler_calls() -> None:
            for index in range(500):
                with environ.layer({f"LOCAL_TEST_{index}": "x"}, {"MLOPS_LOCAL_TEST"}):
                    os.environ.get("MLOPS_LOCAL_TEST")

        def reader() -> None:
            try:
                for _ in range(500):
                    snapshot = os.environ.copy() | dict(os.environ.items())
                    if snapshot.get("MLOPS_LOCAL_TEST") != "process":
                        leaked.append("hidden")
                    leaked.extend(key for key in snapshot if key.startswith("LOCAL_TEST_"))
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=handler_calls), threading.Thread(target=reader)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        del os.environ["MLOPS_LOCAL_TEST"]

    assert errors == []
    assert leaked == []
