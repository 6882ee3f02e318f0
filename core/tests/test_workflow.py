"""SPEC §5.1, rule by rule, with plugins loaded through real entry points."""

from __future__ import annotations

from stoq import Payload, PayloadMeta, RequestMeta


def test_rule1_payload_with_should_scan_false_is_recorded_not_scanned(build) -> None:
    """Rule 1: should_scan=False skips dispatch and workers but keeps the result."""
    stoq = build(always_dispatch=["simple_worker"], dispatchers=["simple_dispatcher"])
    response = stoq.scan(b"abc", payload_meta=PayloadMeta(should_scan=False))
    [result] = response.results
    assert result.workers == [{}]
    assert result.plugins_run == {"workers": [[]], "archivers": []}
    assert result.dispatch_meta == {}


def test_rule2_dispatch_is_an_ordered_union_without_duplicates(build) -> None:
    """Rule 2: start dispatch, always_dispatch, then dispatchers in order; no repeats."""
    stoq = build(
        always_dispatch=["second_worker", "simple_worker"],
        dispatchers=["simple_dispatcher", "none_dispatcher"],
        plugin_opts={"simple_dispatcher": {"workers": ["simple_worker", "options_worker"]}},
    )
    payload = Payload(b"abc", PayloadMeta(dispatch_to=["multi_role"]))
    response = stoq.scan_payload(payload, add_start_dispatch=["second_worker", "extract_worker"])
    assert response.results[0].plugins_run["workers"][0] == [
        "multi_role",
        "second_worker",
        "extract_worker",
        "simple_worker",
        "options_worker",
    ]
    assert response.results[0].dispatch_meta == {"simple_dispatcher": {"why": "configured"}}
    assert response.errors == []


def test_rule2_default_routing_skips_a_worker_not_installed_with_a_notice(build, caplog) -> None:
    """if_installed names run when installed; a missing one is noted in the meta, logged once."""
    stoq = build(
        dispatchers=["simple_dispatcher"],
        plugin_opts={
            "simple_dispatcher": {
                "workers": [],
                "if_installed": ["no_such_worker", "simple_worker"],
            }
        },
    )
    with caplog.at_level("INFO", logger="stoq"):
        first = stoq.scan(b"abc")
        second = stoq.scan(b"def")
    for response in (first, second):
        [result] = response.results
        assert response.errors == []
        assert result.plugins_run["workers"][0] == ["simple_worker"]
        assert result.dispatch_meta == {
            "simple_dispatcher": {"why": "configured", "not_installed": ["no_such_worker"]}
        }
    notices = [r.getMessage() for r in caplog.records if "no_such_worker" in r.getMessage()]
    notice = "routes some payloads to plugin 'no_such_worker', which is not installed; skipped"
    assert notices == [f"simple_dispatcher: {notice}"]


def test_rule2_if_installed_that_is_not_a_list_is_the_dispatchers_error(build) -> None:
    """A text where a list belongs is not split into letters: one Error, nothing dispatched."""
    stoq = build(
        dispatchers=["simple_dispatcher"],
        plugin_opts={"simple_dispatcher": {"workers": [], "if_installed": "simple_worker"}},
    )
    response = stoq.scan(b"abc")
    assert response.results[0].plugins_run["workers"][0] == []
    assert [(e.plugin_name, e.stage, e.error) for e in response.errors] == [
        (
            "simple_dispatcher",
            "dispatch",
            "if_installed is 'simple_worker', expected a list of plugin names",
        )
    ]


def test_rule2_a_required_worker_not_installed_stays_a_load_error(build) -> None:
    """plugin_names (and every name the user gives) must be installed: missing is an Error."""
    stoq = build(
        dispatchers=["simple_dispatcher"],
        plugin_opts={"simple_dispatcher": {"workers": ["no_such_worker"]}},
    )
    response = stoq.scan(b"abc", add_start_dispatch=["also_missing"])
    assert [(e.plugin_name, e.stage) for e in response.errors] == [
        ("also_missing", "load"),
        ("no_such_worker", "load"),
    ]
    assert "not_installed" not in response.results[0].dispatch_meta["simple_dispatcher"]


def test_rule2_extracted_payload_dispatch_to_is_its_start_dispatch(build) -> None:
    """Rule 2: an extracted payload's dispatch_to works like the root's start dispatch."""
    stoq = build(plugin_opts={"extract_worker": {"dispatch_to": ["second_worker"]}})
    response = stoq.scan(b"root\nchild", add_start_dispatch=["extract_worker"])
    root, child = response.results
    assert root.plugins_run["workers"] == [["extract_worker"]]
    assert child.plugins_run["workers"] == [["second_worker"]]
    assert child.workers[0] == {"second_worker": {"size": 5}}


def test_rule3_worker_results_children_and_links(build) -> None:
    """Rule 3: results in round 0; children linked to parent and worker."""
    stoq = build(always_dispatch=["extract_worker", "simple_worker"])
    response = stoq.scan(b"root\none\ntwo")
    root, one, two = response.results
    assert root.workers[0] == {"extract_worker": {"children": 2}, "simple_worker": {"size": 12}}
    assert (one.extracted_from, one.extracted_by) == (root.payload_id, "extract_worker")
    assert (two.extracted_from, two.extracted_by) == (root.payload_id, "extract_worker")
    assert one.payload_meta.extra_data == {"index": 0}
    assert one.size == 3


def test_rule4_deep_dispatch_runs_new_workers_in_a_new_round(build) -> None:
    """Rule 4: a deep dispatcher sees round-0 results; its workers run in round 1."""
    stoq = build(always_dispatch=["simple_worker"], deep_dispatchers=["same_deep_dispatcher"])
    [result] = stoq.scan(b"abc").results
    assert result.plugins_run["workers"] == [["simple_worker"], ["second_worker"]]
    assert result.workers == [{"simple_worker": {"size": 3}}, {"second_worker": {"size": 3}}]
    assert result.deep_dispatch_meta == {"same_deep_dispatcher": {"saw": ["simple_worker"]}}


def test_rule4_same_worker_asked_every_pass_runs_exactly_once_more(build) -> None:
    """Rule 4: a worker already run on the payload is not run again, whatever the passes."""
    stoq = build(
        always_dispatch=["simple_worker"],
        deep_dispatchers=["same_deep_dispatcher"],
        max_dispatch_passes=5,
    )
    [result] = stoq.scan(b"abc").results
    assert result.plugins_run["workers"] == [["simple_worker"], ["second_worker"]]


def test_rule4_max_dispatch_passes_stops_a_deep_dispatcher_that_never_settles(build) -> None:
    """Rule 4: a new worker on every pass is cut at max_dispatch_passes."""
    stoq = build(deep_dispatchers=["rotating_deep_dispatcher"], max_dispatch_passes=3)
    response = stoq.scan(b"abc")
    [result] = response.results
    # Each pass opens a round; the rotating names are not installed, so none ran (v2: a
    # worker that fails to load is not in plugins_run) and each is one load error.
    assert result.plugins_run["workers"] == [[], [], [], []]
    assert [(e.plugin_name, e.stage) for e in response.errors] == [
        ("rotating_0", "load"),
        ("rotating_1", "load"),
        ("rotating_2", "load"),
    ]
    assert len(result.workers) == 4
    assert result.deep_dispatch_meta["rotating_deep_dispatcher"] == {"pass": 3}


def test_rule4_add_start_deep_dispatch_applies_to_the_root_only(build) -> None:
    """Rule 4: add_start_deep_dispatch adds workers to the root's first deep pass."""
    stoq = build(always_dispatch=["extract_worker"])
    response = stoq.scan(b"root\nchild", add_start_deep_dispatch=["simple_worker"])
    root, child = response.results
    assert root.plugins_run["workers"] == [["extract_worker"], ["simple_worker"]]
    assert child.plugins_run["workers"] == [["extract_worker"]]


def test_rule5_archiving_per_payload_and_its_switches(build) -> None:
    """Rule 5: destination archivers run per payload unless the request or payload says no."""
    stoq = build(always_dispatch=["extract_worker"], dest_archivers=["multi_role"])
    response = stoq.scan(b"root\nchild")
    assert [r.plugins_run["archivers"] for r in response.results] == [
        ["multi_role"],
        ["multi_role"],
    ]
    assert response.results[1].archivers == {"multi_role": {"key": response.results[1].sha256}}
    assert stoq.load_plugin("multi_role").archived[response.results[0].sha256] == b"root\nchild"

    off = stoq.scan(b"other", request_meta=RequestMeta(archive_payloads=False))
    assert off.results[0].plugins_run["archivers"] == []
    skipped = stoq.scan(b"third", payload_meta=PayloadMeta(should_archive=False))
    assert skipped.results[0].archivers == {}


def test_rule5_payload_not_scanned_is_still_archived(build) -> None:
    """Rule 1 with rule 5: a payload recorded without scanning may still be archived."""
    stoq = build(dest_archivers=["multi_role"])
    response = stoq.scan(b"abc", payload_meta=PayloadMeta(should_scan=False))
    assert response.results[0].plugins_run["archivers"] == ["multi_role"]


def test_rule6_duplicate_siblings_are_scanned_once(build) -> None:
    """Rule 6: a child identical to an earlier child is not scanned again, and is no error."""
    stoq = build(always_dispatch=["extract_worker"])
    response = stoq.scan(b"header\nsame\nother\nsame")
    assert [r.size for r in response.results] == [22, 4, 5]
    assert len({r.sha256 for r in response.results}) == 3
    assert response.errors == []


def test_rule6_a_child_identical_to_the_root_is_not_scanned(build) -> None:
    """Rule 6: the root counts in duplicate detection (an archive quine stops at once)."""
    stoq = build(always_dispatch=["self_extract_worker"])
    response = stoq.scan(b"quine")
    assert len(response.results) == 1
    assert response.errors == []


def test_levels_are_breadth_first(build) -> None:
    """Payloads are processed level by level: all children before grandchildren."""
    stoq = build(always_dispatch=["extract_worker"], plugin_opts={"extract_worker": {"count": 2}})
    response = stoq.scan(b"root")
    ids = {r.payload_id: r for r in response.results}
    depths = []
    for result in response.results:
        depth, parent = 0, result.extracted_from
        while parent is not None:
            depth, parent = depth + 1, ids[parent].extracted_from
        depths.append(depth)
    assert depths == sorted(depths)
    assert depths[:3] == [0, 1, 1]


def test_decorators_see_the_response_and_connectors_get_it(build) -> None:
    """After the last level: decorators in order, then connectors with the decorated response."""
    stoq = build(
        always_dispatch=["extract_worker"], decorators=["multi_role"], connectors=["multi_role"]
    )
    response = stoq.scan(b"root\nchild")
    plugin = stoq.load_plugin("multi_role")
    assert response.decorators["multi_role"]["payloads"] == 2
    assert plugin.saved == [response]


def test_one_instance_serves_every_role_of_a_plugin(build) -> None:
    """A multi-role plugin is loaded once per Stoq and that instance serves all its roles."""
    stoq = build(
        always_dispatch=["multi_role"], decorators=["multi_role"], dest_archivers=["multi_role"]
    )
    response = stoq.scan(b"abc")
    instance = stoq.load_plugin("multi_role")
    assert response.results[0].workers[0]["multi_role"]["instance"] == id(instance)
    assert response.decorators["multi_role"]["instance"] == id(instance)
    stoq.close()
    assert instance.events == ["start", "stop"]


def test_same_input_same_response_apart_from_ids_and_times(build) -> None:
    """SPEC §5.4: order is deterministic (timings: which plugins, in which order, not seconds)."""

    def shape(response):
        data = response.to_dict()
        id_map = {r["payload_id"]: i for i, r in enumerate(data["results"])}
        for r in data["results"]:
            r["payload_id"] = id_map[r["payload_id"]]
            r["extracted_from"] = id_map.get(r["extracted_from"])
            r["timings"] = {stage: list(plugins) for stage, plugins in r["timings"].items()}
        data["timings"] = list(data["timings"])
        for e in data["errors"]:
            e["payload_id"] = id_map.get(e["payload_id"])
        del data["scan_id"], data["time"]
        return data

    kwargs = {
        "always_dispatch": ["extract_worker", "simple_worker", "raise_worker"],
        "deep_dispatchers": ["same_deep_dispatcher"],
    }
    first = shape(build(**kwargs).scan(b"a\nb\nc\nd"))
    second = shape(build(**kwargs).scan(b"a\nb\nc\nd"))
    assert first == second
