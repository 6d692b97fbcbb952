"""docs/results.json holds the lab's runs, docs/results.md's tables are generated from it, and
docs/results.py records a saved model only under the command that trained it."""

import json
import runpy
from pathlib import Path

import pytest

from minitorch7 import cli, cmdline

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def results():
    return runpy.run_path(str(DOCS / "results.py"))


def test_the_page_shows_the_records(results):
    records = results["load"]()  # every record checked
    assert {r["exercise"] for r in records} >= {"mlp", "cnn", "rnnlm"}
    assert results["main"](["check"]) == 0


def test_add_evaluates_and_records_under_the_training_command(results, tmp_path, capsys):
    command = ("minitorch7 lab mlp --datapath fixtures --maxepoch 2 --batchsize 5 "
               "--hiddensize 8 --seed 3")
    cli.main([*command.split()[1:], "--savepath", str(tmp_path)])
    model, records = str(tmp_path / "mlp.t7"), tmp_path / "results.json"
    capsys.readouterr()
    add = ["--records", str(records), "add", model, "--minutes", "0.25", "--threads", "2"]
    assert results["main"]([*add, "--command", command]) == 0
    tested = float(capsys.readouterr().out.split("Test accuracy=")[1].split()[0])
    [record] = json.loads(records.read_text())
    assert record["exercise"] == "mlp" and record["seed"] == 3
    assert record["metric"] == "test_accuracy" and record["value"] == pytest.approx(tested)
    assert 0 <= record["valid"] <= 1 and record["minutes"] == 0.2  # rounded to 0.1 minute
    assert record["command"] == command and record["backend"].endswith(", 2 threads")
    with pytest.raises(SystemExit, match=r"--hiddensize '16' \(saved: '8'\)"):
        results["main"]([*add, "--command", command.replace("--hiddensize 8", "--hiddensize 16")])
    with pytest.raises(SystemExit, match="does not start with 'minitorch7 lab mlp'"):
        results["main"]([*add, "--command", command.replace(" mlp ", " cnn ")])
    assert len(json.loads(records.read_text())) == 1  # neither was recorded
    # continued to a third epoch: the checkpoint gives the run's final options
    cli.main(["lab", "mlp", "--resume", str(tmp_path / "mlp.checkpoint.t7"), "--maxepoch", "3"])
    longer = command.replace("--maxepoch 2", "--maxepoch 3")
    checkpoint = str(tmp_path / "mlp.checkpoint.t7")
    if cmdline.read_model(checkpoint)["best_epoch"] < 3:  # the best model: saved by epoch 2
        with pytest.raises(SystemExit, match=r"--maxepoch 3 \(saved: 2\)"):
            results["main"]([*add, "--command", longer])
    assert results["main"]([*add[:3], checkpoint, *add[4:], "--command", longer]) == 0
    assert [r["command"] for r in json.loads(records.read_text())] == [command, longer]


def test_add_tells_the_attention_model_from_the_classifiers(results, tmp_path, capsys):
    command = ("minitorch7 lab ram --datapath fixtures --maxepoch 1 --batchsize 5 "
               "--hiddensize 16 --imagehiddensize 16 --glimpsehiddensize 8 "
               "--locatorhiddensize 8 --rho 2 --seed 2")
    cli.main([*command.split()[1:], "--no-progress", "--savepath", str(tmp_path)])
    records = tmp_path / "results.json"
    capsys.readouterr()
    checkpoint = str(tmp_path / "ram.checkpoint.t7")  # of kind "ram": its best model is added
    assert results["main"](["--records", str(records), "add", checkpoint,
                            "--minutes", "0.1", "--command", command]) == 0
    tested = float(capsys.readouterr().out.split("Test accuracy=")[1].split()[0])
    [record] = json.loads(records.read_text())
    assert record["exercise"] == "ram" and record["seed"] == 2
    assert record["metric"] == "test_accuracy" and record["value"] == pytest.approx(tested)


def test_tables_group_seeds_and_check_finds_a_stale_page(results, tmp_path):
    def run(seed, value):
        return {"exercise": "cnn", "seed": seed, "metric": "test_accuracy", "value": value,
                "valid": 0.99, "minutes": 6.0, "command": f"minitorch7 lab cnn --seed {seed}",
                "backend": "numba_cpu (fast tier), 1 thread", "cpu": "some CPU"}

    records, page = tmp_path / "results.json", tmp_path / "results.md"
    results["save"]([run(1, 0.9920), run(2, 0.9940)], records)
    page.write_text(f"# Results\n{results['BEGIN']}\nold\n{results['END']}\nmore text\n")
    paths = ["--records", str(records), "--page", str(page)]
    assert results["main"]([*paths, "check"]) == 1
    results["main"]([*paths, "tables"])
    text = page.read_text()
    assert results["main"]([*paths, "check"]) == 0
    assert text.startswith("# Results\n") and text.endswith("more text\n")
    assert "`minitorch7 lab cnn`, with `--seed` as in each row:" in text
    assert "| **mean of 2** | **0.9930** (sd 0.0014) |" in text
    with pytest.raises(ValueError, match="metric 'test_perplexity'"):
        results["upsert"]([], {**run(3, 0.99), "metric": "test_perplexity"})
