"""Following the teacher (issue 27) with two sessions of the real page in one process (AppTest): the
teacher starts a class; a student opens the join link and shows the teacher's lesson step, view and
numbers in the student's own language; a change of the student's own leaves follow mode and the
teacher's next step no longer moves that page; *Follow the teacher* brings it back. The timer's
rerun is a plain ``run()`` here (AppTest runs no timers)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from page import classes
from tests.test_app import APP


def page(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_a_student_follows_the_teacher_leaves_and_comes_back():
    teacher = page()
    teacher.button(key="class_start").click().run()
    code = teacher.session_state[classes.TEACH]["code"]
    teacher.radio(key="w_mode").set_value("lesson").run()
    teacher.button(key="lesson_next").click().run()  # step 2

    student = page(join=code, lang="ja")
    assert not student.exception and not student.warning  # no "unknown parameter: join" notice
    assert student.session_state["mode"] == "lesson" and student.session_state["lesson_step"] == 2
    assert student.session_state["lang"] == "ja"  # the student's own language
    assert any(code in info.value for info in student.info)  # the banner names the class
    assert classes.store().followers(code) == 1

    teacher.number_input(key="w_patch_size").set_value(9).run()  # a number and the next step
    teacher.button(key="lesson_next").click().run()
    student.run()  # the follower's timer saw a new version
    assert student.session_state["lesson_step"] == 3 and student.session_state["patch_size"] == 9
    assert student.session_state["lang"] == "ja"

    student.button(key="lesson_back").click().run()  # the student's own change
    assert student.session_state[classes.FOLLOW]["following"] is False
    assert any(code in w.value for w in student.warning)  # "exploring on your own"
    teacher.button(key="lesson_next").click().run()
    student.run()
    assert student.session_state["lesson_step"] == 2  # not moved by the teacher's step 4
    assert classes.store().state(code).params["step"] == "4"  # and the student did not move the class

    student.button(key="class_follow_again").click().run()
    assert student.session_state["lesson_step"] == 4 and student.session_state[classes.FOLLOW]["following"]

    teacher.button(key="class_end").click().run()
    student.run()
    assert student.session_state.get(classes.FOLLOW) is None
    assert any("ended" in info.value or "終わり" in info.value for info in student.info)


def test_an_unknown_code_says_so_and_the_page_works_on_its_own():
    student = page(join="ZZZZZ2")
    assert not student.exception
    assert any("ZZZZZ2" in e.value for e in student.error)
    assert student.session_state.get(classes.FOLLOW) is None
    assert "join" not in student.query_params


def test_a_class_carries_the_teachers_uploaded_picture():
    teacher = page()
    teacher.button(key="class_start").click().run()
    code = teacher.session_state[classes.TEACH]["code"]
    from page import state as S

    picture = S.SAMPLES["coffee"].read_bytes()
    teacher.session_state["last_upload"] = (picture, "mine.jpg")
    teacher.session_state["source"] = "upload"
    teacher.run()
    assert classes.store().picture(code) == picture
    student = page(join=code)
    assert student.session_state["source"] == "upload"
    assert student.session_state["last_upload"][0] == picture


def test_a_class_carries_a_hub_model_the_server_holds(tmp_path, monkeypatch):
    """The teacher loads a DINOv2 with registers from the server's hub cache and picks a register as
    the query: the student's page loads the same model from that cache and shows the same query."""
    pytest.importorskip("huggingface_hub")
    pytest.importorskip("transformers")
    from tests.test_families import FAMILIES, fill_cache
    from tests.test_families_app import DINO_REG, load, query_widget

    for seed, repo_id in enumerate(FAMILIES):
        fill_cache(tmp_path, repo_id, seed)
    teacher = page()
    teacher.button(key="class_start").click().run()
    code = teacher.session_state[classes.TEACH]["code"]
    load(teacher, DINO_REG, tmp_path, monkeypatch)
    teacher.radio(key="w_mode").set_value("explore").run()
    teacher.session_state["view"] = "attention"
    teacher.run()
    query_widget(teacher).set_value("reg2").run()
    assert classes.store().state(code).params["hub"] == DINO_REG

    student = page(join=code)
    assert not student.exception and not student.error, [e.value for e in student.error]
    assert student.session_state["weights"] == "pretrained" and student.session_state["hub_id"] == DINO_REG
    assert student.session_state["q_kind"] == "reg2" and student.session_state["view"] == "attention"
    assert any("REG2" in m.value for m in student.markdown)  # the map's sentence names the register
    assert str(student.session_state["pretrained"]) == str(teacher.session_state["pretrained"]) == f"hf:{DINO_REG}"
