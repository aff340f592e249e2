"""Pipeline definitions per model and service info from the chart."""

from __future__ import annotations

import pytest

from shiplane.pipeline import (
    MODEL_STEPS,
    NotAServiceRepo,
    StepStatus,
    UnknownStep,
    plan_steps,
    read_service_info,
    service_info_from_chart,
)


def test_models_differ_only_at_the_end():
    assert MODEL_STEPS[1] == ("test", "build", "tag", "push", "deploy")
    assert MODEL_STEPS[2] == ("test", "build", "tag", "push", "bump")


def test_plan_with_checkout_and_until():
    steps = plan_steps(2, checkout=True, until="build")
    assert [s.name for s in steps] == ["checkout", "test", "build", "tag", "push", "bump"]
    assert [s.status for s in steps] == [StepStatus.PENDING] * 3 + [StepStatus.SKIPPED] * 3
    assert steps[-1].summary == "not requested (--until build)"


def test_plan_refuses_unknown_until_and_model():
    with pytest.raises(UnknownStep, match="--until bump: the Model 1 pipeline has no such step"):
        plan_steps(1, until="bump")
    with pytest.raises(NotAServiceRepo, match="unknown delivery model 3"):
        plan_steps(3)


def test_generated_repos_say_their_model(service_repo, tmp_path):
    info = read_service_info(service_repo)
    assert (info.name, info.model, info.version) == ("payment-service", 1, "1.2.0")
    from shiplane.scaffold import init_service

    model2 = init_service("orders", directory=tmp_path, model=2).path
    assert read_service_info(model2).model == 2


@pytest.mark.parametrize("text,message", [
    ("name: [unclosed", "not valid YAML"),
    ("- a list", "has no chart name"),
    ("name: x\nannotations:\n  shiplane.io/delivery-model: '7'\n", "'7' is not a delivery model"),
])
def test_bad_charts(text, message):
    with pytest.raises(NotAServiceRepo, match=message):
        service_info_from_chart(text)


def test_a_chart_without_annotation_is_model_1():
    assert service_info_from_chart("name: legacy\nversion: 0.1.0\n").model == 1


def test_not_a_service_repo(tmp_path):
    with pytest.raises(NotAServiceRepo, match="no helm/Chart.yaml"):
        read_service_info(tmp_path)
