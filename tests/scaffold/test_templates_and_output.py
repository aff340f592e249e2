"""Template rendering rules and the all-or-nothing writer (no Helm, fast)."""

from __future__ import annotations

import pytest

from shiplane.errors import ScaffoldError
from shiplane.scaffold import RepoFile, ServiceSpec, service_files, substitute
from shiplane.scaffold.output import update_files, write_repository
from shiplane.scaffold.template_tree import repo_path, template_files


def test_substitute_replaces_only_its_tokens():
    text = 'name: @@name@@ {{ .Values.x }} ${{ github.sha }} ${HOME} [[ -f x ]]'
    assert substitute(text, {"name": "svc"}) == (
        'name: svc {{ .Values.x }} ${{ github.sha }} ${HOME} [[ -f x ]]')


def test_unknown_token_is_an_error_naming_the_template():
    with pytest.raises(ScaffoldError, match=r"t.yaml: unknown variable @@nmae@@"):
        substitute("@@nmae@@", {"name": "svc"}, source="t.yaml")


@pytest.mark.parametrize(
    ("template", "model", "expected"),
    [
        ("dot-github/workflows/ci-cd.model1.yaml", 1, ".github/workflows/ci-cd.yaml"),
        ("dot-github/workflows/ci-cd.model1.yaml", 2, None),
        ("dot-github/workflows/ci-cd.model2.yaml", 2, ".github/workflows/ci-cd.yaml"),
        ("src/main.py.tmpl", 1, "src/main.py"),
        ("helm/dot-helmignore", 2, "helm/.helmignore"),
        ("helm/templates/NOTES.txt", 1, "helm/templates/NOTES.txt"),
    ],
)
def test_repo_path_rules(template, model, expected):
    assert repo_path(template, model) == expected


def test_every_template_token_is_known_for_both_models():
    for model in (1, 2):
        files = service_files(ServiceSpec("svc", model=model))
        assert all("@@" not in f.content for f in files.values())
    assert "Dockerfile" in template_files("service")


def test_unknown_model_is_refused():
    with pytest.raises(ScaffoldError, match="model 3"):
        service_files(ServiceSpec("svc", model=3))


def test_failure_before_commit_leaves_nothing(tmp_path):
    files = {"a.txt": RepoFile("a.txt", "a")}

    def refuse(staging):
        assert (staging / "a.txt").read_text() == "a"
        raise ScaffoldError("checked and refused")

    with pytest.raises(ScaffoldError, match="refused"):
        write_repository(tmp_path / "repo", files, message="m", before_commit=refuse)
    assert list(tmp_path.iterdir()) == []


def test_update_files_undo_restores_previous_state(tmp_path):
    (tmp_path / "keep.txt").write_text("old")
    undo = update_files(tmp_path, {"keep.txt": "new", "sub/dir/new.txt": "x"})
    assert (tmp_path / "keep.txt").read_text() == "new"
    assert (tmp_path / "sub/dir/new.txt").read_text() == "x"
    undo()
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
