"""The dive_rs module and command against the cargo-built `dive-rs` on the same inputs."""

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import _thread
from pathlib import Path
from types import FrameType
from typing import Any, Optional

import pytest

import dive_rs
from conftest import ROOT, cli_json, run_cli

FORMS = [
    "docker-legacy.tar",
    "docker-legacy-symlinks.tar",
    "docker25-gzip.tar",
    "oci-archive.tar",
    "oci-gzip",
    "oci-plain",
    "oci-zstd",
]
DEMO = ROOT / "testdata" / "demo" / "ml-service.tar"
# The stages after the reading, in order, as progress events name them.
STAGES = ["merge", "compare", "owners", "duplicates", "device_code", "waste"]
STAGE_EVENTS = ("stage", "merged", "attributed")


def ledger(forms: Path) -> dict[str, int]:
    """The generator's own figures for the rich fixture."""
    facts = {}
    for line in (forms / "ledger.txt").read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.isdigit():
            facts[key] = int(value)
    return facts


@pytest.mark.parametrize("form", FORMS)
def test_every_form_gives_the_document_of_the_command(cli: Path, forms: Path, form: str) -> None:
    analysis = dive_rs.analyze(forms / form)
    document = analysis.to_dict()
    assert document == cli_json(cli, forms / form, "--json")
    # Against the generator's ledger, not only against ourselves.
    facts = ledger(forms)
    for key in ("total_file_bytes", "final_bytes", "final_files", "hidden_bytes"):
        assert document["image"][key] == facts[key], key


def test_a_str_path_and_a_pathlike_are_the_same_input(forms: Path) -> None:
    path = forms / "oci-zstd"
    assert dive_rs.analyze(str(path)).to_dict() == dive_rs.analyze(path).to_dict()


def test_the_typed_parts_are_the_documents_and_the_ledger_balances(cli: Path) -> None:
    analysis = dive_rs.analyze(DEMO)
    document = analysis.to_dict()
    assert document == cli_json(cli, DEMO, "--json")
    for part in ("image", "layers", "packages", "families", "unowned", "waste", "hidden",
                 "largest_files", "duplicates", "cuda", "warnings"):
        assert getattr(analysis, part) == document[part], part
    image = analysis.image
    owned = sum(p["bytes"] for p in analysis.packages) + sum(u["bytes"] for u in analysis.unowned)
    assert owned == image["final_bytes"]
    assert image["total_file_bytes"] == image["final_bytes"] + image["hidden_bytes"]
    assert analysis.input == str(DEMO)
    torch = [p for p in analysis.packages if p["name"] == "torch"]
    assert torch and torch[0]["ecosystem"] == "pip"
    assert "demo/ml-service:1.0" in repr(analysis)


def test_each_part_is_a_fresh_object() -> None:
    analysis = dive_rs.analyze(DEMO)
    analysis.layers.clear()
    assert len(analysis.layers) == 6


def test_reports_and_summary_are_the_commands(cli: Path) -> None:
    analysis = dive_rs.analyze(DEMO)
    assert analysis.summary() == run_cli(cli, DEMO, "--summary")
    assert analysis.summary(top=3, exact_bytes=True) == run_cli(
        cli, DEMO, "--summary", "--top", 3, "--bytes"
    )
    for fmt in ("text", "markdown", "json", "html"):
        assert analysis.report(fmt) == run_cli(cli, "report", DEMO, "--format", fmt), fmt
    with pytest.raises(ValueError, match="pdf"):
        analysis.report("pdf")  # type: ignore[arg-type]


def test_progress_tells_every_layer_and_the_merge() -> None:
    events: list[dict[str, Any]] = []
    analysis = dive_rs.analyze(DEMO, progress=lambda e: events.append(dict(e)))
    assert events[0] == {"event": "resolved", "layers": 6, "stored_bytes": events[0]["stored_bytes"]}
    walked = sorted(e["index"] for e in events if e["event"] == "layer_walked")
    assert walked == list(range(6))
    entries = {e["index"]: e["entries"] for e in events if e["event"] == "layer_walked"}
    assert entries == {layer["index"]: layer["entries"] for layer in analysis.layers}
    # Then the stages after the reading, the merge's first, and the end.
    after = [e.get("stage", e["event"]) for e in events if e["event"] in STAGE_EVENTS]
    assert after == ["merge", "merged", *STAGES[1:], "attributed"]


def test_false_from_progress_stops_the_analysis_early() -> None:
    events: list[str] = []

    def stop(event: dict[str, Any]) -> bool:
        events.append(event["event"])
        return False

    with pytest.raises(dive_rs.AnalysisStopped, match="progress callback returned False") as info:
        dive_rs.analyze(DEMO, progress=stop)
    assert events == ["resolved"]
    assert isinstance(info.value, dive_rs.ImageError)
    assert info.value.input == str(DEMO)


def test_none_or_true_from_progress_goes_on() -> None:
    assert dive_rs.analyze(DEMO, progress=lambda e: True).image["layer_count"] == 6
    assert dive_rs.analyze(DEMO, progress=lambda e: None).image["layer_count"] == 6


def test_an_exception_in_progress_is_raised_from_analyze() -> None:
    class Boom(Exception):
        pass

    seen: list[str] = []

    def boom(event: dict[str, Any]) -> None:
        seen.append(event["event"])
        raise Boom("from the callback")

    with pytest.raises(Boom, match="from the callback"):
        dive_rs.analyze(DEMO, progress=boom)
    assert seen == ["resolved"]


def test_ctrl_c_stops_the_analysis_and_raises_keyboard_interrupt() -> None:
    events: list[str] = []

    def interrupt(event: dict[str, Any]) -> None:
        events.append(event["event"])
        if event["event"] == "resolved":
            _thread.interrupt_main()
            # Long enough for the waiting thread to see the signal and ask the analysis to
            # stop before the next event.
            time.sleep(0.5)

    with pytest.raises(KeyboardInterrupt):
        dive_rs.analyze(DEMO, progress=interrupt)
    assert "merged" not in events
    # The module is usable afterwards.
    assert dive_rs.analyze(DEMO).image["layer_count"] == 6


@pytest.mark.parametrize("stage", STAGES)
def test_ctrl_c_in_any_stage_after_the_reading_stops_the_analysis_there(stage: str) -> None:
    """A real SIGINT while a stage runs: KeyboardInterrupt, and no later stage begins.

    The progress callback sends the signal as the stage begins, then waits until the main
    thread's handler has run (no sleeping): the stop is asked while the stage is under way,
    and the interrupt's note says where the analysis stopped. Before the stages asked
    whether to stop, Ctrl-C waited for the attribution to finish.
    """
    handled = threading.Event()
    heard: list[str] = []

    def on_sigint(signum: int, frame: Optional[FrameType]) -> None:
        handled.set()
        raise KeyboardInterrupt

    def progress(event: dict[str, Any]) -> None:
        heard.append(event.get("stage", event["event"]))
        if event.get("stage") == stage:
            os.kill(os.getpid(), signal.SIGINT)
            # A bound only against a hang: the handler runs within the main thread's poll.
            assert handled.wait(timeout=60), "the SIGINT handler never ran"

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            dive_rs.analyze(DEMO, progress=progress)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert info.value.__notes__ == [f"dive_rs.analyze stopped in its {stage} stage"]
    assert heard[-1] == stage, heard
    assert "attributed" not in heard


def test_ctrl_c_while_a_report_or_scan_is_written_is_raised_before_it_ends(
    tmp_path: Path,
) -> None:
    """Reports, the document, diffs and saves run beside a thread that looks for signals.

    Here `save` writes into a pipe that holds one page and that nobody empties: the scan is
    larger, so the save cannot end until the pipe is closed, and the interrupt must be
    raised while it waits. Before, the handler ran only once the call returned.
    """
    analysis = dive_rs.analyze(DEMO)
    page = 4096
    analysis.save(tmp_path / "plain.dive")
    assert (tmp_path / "plain.dive").stat().st_size > page + 1, "the scan must fill the pipe"
    fifo = tmp_path / "scan.dive"
    os.mkfifo(fifo)
    # Open for reading and writing: the save's open does not wait for a reader.
    pipe = os.open(fifo, os.O_RDWR)
    fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, page)
    handled, gave_up = threading.Event(), threading.Event()
    while_blocked: list[bool] = []

    def on_sigint(signum: int, frame: Optional[FrameType]) -> None:
        handled.set()
        # Run late (the call returned first), it must not abort the whole session.
        if not gave_up.is_set():
            raise KeyboardInterrupt

    def interrupt_once_writing() -> None:
        os.read(pipe, 1)  # the save has begun writing
        os.kill(os.getpid(), signal.SIGINT)
        # A bound only against a hang: the handler runs within the main thread's poll.
        while_blocked.append(handled.wait(timeout=60))
        if not while_blocked[-1]:
            gave_up.set()
        os.close(pipe)  # the save, left on its own thread, fails on the closed pipe

    previous = signal.signal(signal.SIGINT, on_sigint)
    thread = threading.Thread(target=interrupt_once_writing)
    try:
        thread.start()
        with pytest.raises(KeyboardInterrupt):
            analysis.save(fifo)
    finally:
        thread.join()
        signal.signal(signal.SIGINT, previous)
    assert while_blocked == [True]


def test_a_missing_file_raises_image_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tar"
    with pytest.raises(dive_rs.ImageError) as info:
        dive_rs.analyze(missing)
    assert info.value.input == str(missing)
    assert str(missing) in str(info.value)


def test_a_damaged_layer_is_a_warning_and_with_verify_an_image_error(
    tmp_path: Path, forms: Path
) -> None:
    damaged = tmp_path / "oci-gzip"
    shutil.copytree(forms / "oci-gzip", damaged)
    index = json.loads((damaged / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((damaged / "blobs" / "sha256" / manifest_digest).read_text())
    at = max(range(len(manifest["layers"])), key=lambda i: manifest["layers"][i]["size"])
    layer = manifest["layers"][at]
    blob = damaged / "blobs" / "sha256" / layer["digest"].split(":")[1]
    data = bytearray(blob.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    blob.write_bytes(bytes(data))

    # Read as far as it goes: the damage is a warning with its layer and offset.
    warnings = dive_rs.analyze(damaged).warnings
    damage = [w for w in warnings if "damaged" in w["message"]]
    assert damage and damage[0]["location"]["layer"].startswith(f"layer {at} ")
    assert damage[0]["location"]["offset"] > 0

    # Checked against its digest: an error naming the layer.
    with pytest.raises(dive_rs.ImageError) as info:
        dive_rs.analyze(damaged, verify=True)
    assert info.value.input == str(damaged)
    assert info.value.layer == at
    assert info.value.layer_digest == layer["digest"]
    # The command from the wheel says the same and exits 2.
    done = subprocess.run(
        [sys.executable, "-c", "import dive_rs, sys; sys.exit(dive_rs.main())",
         damaged, "--json", "--verify"],
        capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert str(info.value) in done.stderr


def test_bad_families_and_limits_are_refused_before_reading(tmp_path: Path) -> None:
    families = tmp_path / "families.toml"
    families.write_text("[families\n")
    with pytest.raises(dive_rs.RulesError) as info:
        dive_rs.analyze(DEMO, families=families)
    assert info.value.input == str(families)
    with pytest.raises(ValueError, match="unknown cap"):
        dive_rs.analyze(DEMO, limits={"bogus": 1})
    with pytest.raises(dive_rs.ImageError, match="more than 3 tar entries"):
        dive_rs.analyze(DEMO, limits={"max-entries": 3})
    with pytest.raises(dive_rs.ImageError, match="over the 200-byte cap") as info:
        dive_rs.analyze(DEMO, limits={"max_metadata": "200B"})
    assert info.value.input == str(DEMO)
    with pytest.raises(ValueError, match="not a size"):
        dive_rs.analyze(DEMO, limits={"metadata": "lots"})


def test_families_and_gpu_archs_reach_the_analysis(cli: Path, tmp_path: Path) -> None:
    families = tmp_path / "families.toml"
    families.write_text('[families]\nmine = ["torch*"]\n')
    analysis = dive_rs.analyze(DEMO, families=families, gpu_arch="sm_90")
    assert analysis.to_dict() == cli_json(
        cli, DEMO, "--json", "--families", families, "--gpu-arch", "sm_90"
    )
    with pytest.raises(ValueError, match="sm_9x"):
        dive_rs.analyze(DEMO, gpu_arch=["sm_9x"])


def test_check_is_the_ci_command(cli: Path, tmp_path: Path) -> None:
    rules = tmp_path / ".dive-ci"
    rules.write_text(
        "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1GB\n"
        "  highestUserWastedPercent: 0.5\n"
        # The demo ships secrets, which the gate fails by default.
        "dive-rs:\n  secrets: disabled\n"
    )
    analysis = dive_rs.analyze(DEMO)
    gate = analysis.check(rules)
    assert gate.passed and gate.exit_code == 0 and bool(gate)
    assert gate.to_dict() == cli_json(cli, "ci", DEMO, "--rules", rules, "--format", "json")
    assert [r.status for r in gate.rules][:2] == ["PASS", "PASS"]
    assert gate.rules[0].name == "lowestEfficiency" and gate.rules[0].section == "dive"
    assert isinstance(gate.rules[0].measured, float)

    strict = analysis.check(rules_text="rules:\n  lowestEfficiency: 0.99\n")
    assert not strict.passed and strict.exit_code == 1
    assert strict.rules[0].status == "FAIL"
    strict_file = _write(tmp_path, "rules:\n  lowestEfficiency: 0.99\n")
    assert analysis.check(strict_file).render() == run_cli(
        cli, "ci", DEMO, "--rules", strict_file, code=1
    )
    assert strict.render("junit") != strict.render("markdown")

    defaults = analysis.check()
    assert defaults.rules_origin == "dive's defaults"
    with pytest.raises(dive_rs.RulesError):
        analysis.check(rules_text="rules: [")
    with pytest.raises(dive_rs.RulesError) as info:
        analysis.check(tmp_path / "missing")
    assert info.value.input == str(tmp_path / "missing")
    with pytest.raises(ValueError):
        analysis.check(rules, rules_text="")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_diff_of_sources_and_of_analyses_is_the_commands(cli: Path, forms: Path) -> None:
    old, new = forms / "docker-legacy.tar", DEMO
    expected = cli_json(cli, "diff", old, new, "--format", "json")
    assert dive_rs.diff(old, new) == expected
    assert dive_rs.diff(dive_rs.analyze(old), dive_rs.analyze(new)) == expected
    assert dive_rs.diff(str(old), dive_rs.analyze(new), top=3) == cli_json(
        cli, "diff", old, new, "--format", "json", "--top", 3
    )


def test_save_and_load_round_trip(cli: Path, tmp_path: Path) -> None:
    analysis = dive_rs.analyze(DEMO)
    scan = tmp_path / "demo.scan"
    analysis.save(scan)
    loaded = dive_rs.load(scan)
    assert loaded.to_dict() == analysis.to_dict()
    assert loaded.to_dict() == cli_json(cli, scan, "--json")
    with pytest.raises(dive_rs.ImageError, match="not a scan"):
        dive_rs.load(DEMO)


def venv_command() -> Path:
    command = Path(sys.executable).parent / "dive-rs"
    assert command.exists(), "the wheel installs the dive-rs command"
    return command


def test_the_command_from_the_venv(cli: Path, tmp_path: Path) -> None:
    command = venv_command()
    version = subprocess.run([command, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout == f"dive-rs {dive_rs.__version__}\n"
    summary = subprocess.run([command, DEMO, "--summary"], capture_output=True, text=True, check=True)
    assert summary.stdout == run_cli(cli, DEMO, "--summary")
    missing = subprocess.run([command, tmp_path / "nope.tar", "--json"], capture_output=True, text=True)
    assert missing.returncode == 2 and "nope.tar" in missing.stderr
    failing = subprocess.run([command, "ci", DEMO, "--rules", _write(tmp_path, "rules:\n  lowestEfficiency: 0.99\n")], capture_output=True, text=True)
    assert failing.returncode == 1 and "FAIL" in failing.stdout
    # No terminal: the interactive view is refused with a pointer to --json.
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    refused = subprocess.run([command, DEMO], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert refused.returncode == 2 and "--json" in refused.stderr


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- python-example -->\s*```python\n(.*?)```", text, re.S)
    assert found, "README has the Python example"
    return found.group(1)


def test_the_readme_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    done = subprocess.run([sys.executable, script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "torch" in done.stdout


def test_the_readme_example_type_checks_against_the_stubs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", script],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def sigint_caught(pid: int) -> bool:
    """Whether the process has a handler for SIGINT (/proc's SigCgt mask, bit 2)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError("no SigCgt line")


def test_ctrl_c_ends_the_command_as_it_ends_the_rust_binary() -> None:
    # Reading an image from a stdin that never ends: only the signal can end it.
    process = subprocess.Popen(
        [venv_command(), "-", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        # Python catches SIGINT from its start; the command gives it back to the default.
        deadline = time.monotonic() + 30
        while sigint_caught(process.pid):
            assert time.monotonic() < deadline, "SIGINT still caught by Python"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == -signal.SIGINT
    finally:
        process.kill()
        process.wait()


def need(tool: str) -> None:
    """The tests' rule for outside tools: skip when missing, but fail under CI=true."""
    if shutil.which(tool) is None:
        message = f"{tool} is missing (scripts/test --install installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def test_the_interactive_view_from_the_venv() -> None:
    need("tmux")
    session = f"dive-py-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    shell_env = " ".join(f"{k}={shlex.quote(v)}" for k, v in (("NO_COLOR", "1"),))
    command = f"env -u CI {shell_env} {shlex.quote(str(venv_command()))} {shlex.quote(str(DEMO))}; echo EXIT=$?; sleep 30"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "45", command],
        check=True, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        screen = ""
        while "efficiency" not in screen or "torch" not in screen:
            assert time.monotonic() < deadline, screen
            time.sleep(0.1)
            screen = tmux("capture-pane", "-p", "-t", session)
        assert "demo/ml-service:1.0" in screen
        tmux("send-keys", "-t", session, "q")
        while "EXIT=" not in screen:
            assert time.monotonic() < deadline, screen
            time.sleep(0.1)
            screen = tmux("capture-pane", "-p", "-t", session)
        assert "EXIT=0" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
