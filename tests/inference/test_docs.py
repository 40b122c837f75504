"""Document libraries from the inference side: files, passages, the embed and ask tasks,
hybrid retrieval, and the command line (`docs add|list|remove`, `run ask`)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import qdrant_client
import torch
from qdrant_client import QdrantClient as RealQdrantClient

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.cli import main
from inference.docs.chunks import chunk_text, estimate_tokens, sentence_around
from inference.docs.files import extract_text
from inference.docs.library import add_document, ask, retrieve
from inference.tasks.ask import NOT_FOUND
from store import Store
from store.documents_sqlite import SqliteLibrary
from tests.inference.test_qa import PointingModel


def pdf_bytes(text: str | None) -> bytes:
    """A one-page PDF: with ``text`` drawn in Helvetica (a text layer), or blank."""
    stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode() if text else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# -- files and passages -----------------------------------------------------------------


def test_each_file_type_gives_its_text() -> None:
    assert extract_text("a.txt", "\ufeffHello there.".encode()) == "Hello there."
    assert extract_text("notes.md", b"# Title\n\n\n\nBody") == "# Title\n\nBody"
    html = (
        b"<html><head><title>x</title><script>var a=1;</script></head>"
        b"<body><p>Hi <b>you</b></p></body></html>"
    )
    assert extract_text("page.html", html).split() == ["Hi", "you"]
    assert "Kettles boil water" in extract_text("m.pdf", pdf_bytes("Kettles boil water"))
    assert extract_text("한국어.txt", "서버의 규칙".encode()) == "서버의 규칙"


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("empty.txt", b"  \n", "empty"),
        ("bin.txt", b"\x00\x01\x02abc", "binary"),
        ("latin.txt", "café".encode("latin-1"), "not UTF-8"),
        ("scan.pdf", pdf_bytes(None), "no text layer"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a PDF"),
        ("tool.exe", b"MZ", "only .txt"),
    ],
)
def test_bad_files_get_one_short_error(name: str, data: bytes, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        extract_text(name, data)
    message = str(caught.value)
    assert says in message and "\n" not in message and "/" not in message.replace(" / ", "")


def test_passages_are_whole_sentences_with_one_sentence_of_overlap() -> None:
    sentences = [
        f"Sentence number {i} talks about topic {i} at some length here." for i in range(80)
    ]
    chunks = chunk_text(" ".join(sentences))
    assert len(chunks) > 3
    for chunk in chunks:
        assert 0 < estimate_tokens(chunk) <= 300
        assert chunk.endswith(".")
    for before, after in itertools.pairwise(chunks):
        last = before.rsplit("Sentence", 1)[1]
        assert after.startswith("Sentence" + last)  # the overlap
    # text with no spaces or sentence ends (Korean written together) is still cut to fit
    korean = chunk_text("가나다라" * 2000)
    assert len(korean) > 1 and all(estimate_tokens(c) <= 300 for c in korean)


def test_the_sentence_around_an_answer() -> None:
    text = "Rome is old. The password is swordfish. Lunch is at noon."
    start = text.index("swordfish")
    assert sentence_around(text, start, start + 9) == "The password is swordfish."


# -- the tasks and retrieval, through the service ------------------------------------------


@pytest.fixture
def settings(tiny_models: dict[str, Path], tmp_path: Path) -> InferenceSettings:
    return InferenceSettings(
        _env_file=None,
        embed_model=str(tiny_models["embed"]),
        qa_model=str(tiny_models["qa"]),
        data_dir=tmp_path / "data",
        max_wait_ms=1,
        device="cpu",
    )


async def test_embed_gives_unit_vectors_and_prefixes_each_kind(settings: InferenceSettings) -> None:
    async with InferenceService(settings) as service:
        passages = await service.run("embed", texts=["My car is red.", "Kettles boil water."])
        query = await service.run("embed", text="automobile", kind="query")
        with pytest.raises(InvalidInput):
            await service.run("embed", texts=[])
        with pytest.raises(InvalidInput):
            await service.run("embed", text="x", kind="document")
    dots = [sum(a * b for a, b in zip(v, query.vectors[0], strict=True)) for v in passages.vectors]
    assert all(abs(sum(x * x for x in v) - 1) < 1e-4 for v in passages.vectors)
    assert dots[0] > dots[1]  # the synonym is nearer than the unrelated passage


async def test_hybrid_retrieval_finds_names_by_keyword_and_synonyms_by_meaning(
    settings: InferenceSettings, tmp_path: Path
) -> None:
    store = await Store.open(tmp_path / "data")
    library = SqliteLibrary(store)
    files = {
        "router.txt": "The Zyxwv-9 router resets with a paperclip.",
        "parking.txt": "My car is parked outside.",
        "kitchen.txt": "Kettles boil water.",
        "holiday.txt": "Holiday requests go to the office.",
        "notes.txt": "점심은 열두 시에 먹습니다.",
    }
    async with InferenceService(settings) as service:
        for name, text in files.items():
            await add_document(service, library, "lib", name, text.encode())
        by_name = await retrieve(service, library, "lib", "zyxwv-9", k=1)
        by_meaning = await retrieve(service, library, "lib", "automobile?", k=1)
        korean = await retrieve(service, library, "lib", "점심 시간", k=1)
        assert by_name[0]["document"] == "router.txt"
        # ... which the embedder alone misses (a made-up name means nothing to it)
        name_vector = (await service.run("embed", text="zyxwv-9", kind="query")).vectors[0]
        dense_only = await library.vector_search("lib", name_vector, 5)
        assert all(abs(p.score) < 1e-6 for p in dense_only)
        # no word in common: the dense side found the synonym
        assert await library.keyword_search("lib", "automobile?", 5) == []
        assert by_meaning[0]["document"] == "parking.txt"
        assert korean[0]["document"] == "notes.txt"
    await store.close()


async def test_ask_reads_the_retrieved_passages_and_names_the_source(
    settings: InferenceSettings, tmp_path: Path
) -> None:
    store = await Store.open(tmp_path / "data")
    library = SqliteLibrary(store)
    async with InferenceService(settings) as service:
        await add_document(
            service,
            library,
            "a",
            "rules.txt",
            b"Rome is old. The password is swordfish. Lunch is at noon.",
        )
        await service.preload(["ask"])
        ((reader, _),) = [(m.reader, m.reranker) for m in service.loaded_models("ask")]
        reader.model = PointingModel(
            reader.tokenizer("swordfish", add_special_tokens=False)["input_ids"]
        )
        found = await ask(service, library, "a", "What is the password?")
        assert (found.answer, found.answerable) == ("swordfish", True)
        assert found.to_dict()["sources"] == [
            {"document": "rules.txt", "text": "The password is swordfish.", "score": found.score}
        ]
        reader.model = PointingModel(None)  # all on [CLS]: nothing confident
        missing = await ask(service, library, "a", "What is the password?")
        assert not missing.answerable and missing.note == NOT_FOUND and missing.answer == ""
        assert [s.document for s in missing.sources] == ["rules.txt"]
        with pytest.raises(InvalidInput, match="no documents"):
            await ask(service, library, "nobody", "What is the password?")
        with pytest.raises(InvalidInput, match="empty"):
            await ask(service, library, "a", "   ")
    await store.close()


# -- the command line ----------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


@pytest.mark.parametrize("backend", ["sqlite", "qdrant"])
def test_cli_docs_add_list_remove_and_ask_keep_collections_apart(
    settings: InferenceSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    backend: str,
) -> None:
    for name in ("embed_model", "qa_model", "data_dir", "device"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    if backend == "qdrant":  # QDRANT_URL, served by qdrant-client's local mode
        monkeypatch.setenv("QDRANT_URL", "http://qdrant.invalid:6333")
        local = tmp_path / "qdrant"
        monkeypatch.setattr(
            qdrant_client, "QdrantClient", lambda url: RealQdrantClient(path=str(local))
        )
    alpha, beta, scan = tmp_path / "alpha.txt", tmp_path / "beta.md", tmp_path / "scan.pdf"
    alpha.write_text("The alpha password is swordfish. Alpha lunch is at noon.")
    beta.write_text("The beta password is tuna. Beta lunch is at one.")
    scan.write_bytes(pdf_bytes(None))

    code, rows, _ = cli(capsys, "docs", "add", "--collection", "A", str(alpha))
    assert code == 0 and rows == [
        {"collection": "A", "document": "alpha.txt", "chunks": 1, "bytes": alpha.stat().st_size}
    ]
    assert cli(capsys, "docs", "add", "--collection", "B", str(beta))[0] == 0
    code, _, err = cli(capsys, "docs", "add", "--collection", "B", str(scan))
    assert code == 2 and "no text layer" in err and str(tmp_path) not in err

    code, rows, _ = cli(capsys, "docs", "list", "--collection", "B")
    assert [r["document"] for r in rows] == ["beta.md"]
    code, (answer,), _ = cli(capsys, "run", "ask", "What is the password?", "--collection", "A")
    assert code == 0 and set(answer) >= {"answer", "score", "answerable", "sources"}
    assert answer["sources"] and {s["document"] for s in answer["sources"]} == {"alpha.txt"}
    assert set(answer["sources"][0]) == {"document", "text", "score"}

    code, _, err = cli(capsys, "run", "ask", "What?", "--collection", "nope")
    assert code == 2 and "no documents" in err
    code, _, err = cli(capsys, "run", "ask", " ", "--collection", "A")
    assert code == 2 and "empty" in err
    code, _, err = cli(capsys, "docs", "list", "--collection", "nope")
    assert code == 2 and "no documents" in err

    code, rows, _ = cli(capsys, "docs", "remove", "--collection", "B", "beta.md")
    assert code == 0 and rows == [{"removed": "beta.md", "collection": "B"}]
    code, _, err = cli(capsys, "docs", "remove", "--collection", "B", "beta.md")
    assert code == 2 and "No document" in err
    code, _, err = cli(capsys, "run", "ask", "password?", "--collection", "B")
    assert code == 2  # removed really removed: B is empty again
    assert (tmp_path / "qdrant").exists() == (backend == "qdrant")


class Preferring:
    """A cross-encoder stand-in: logits [0, 5] for pairs holding ``target``'s tokens,
    [0, -5] for the others."""

    def __init__(self, target: list[int]) -> None:
        self.target = target

    def __call__(self, input_ids: Any, **_: Any) -> Any:
        rows = []
        for ids in input_ids.tolist():
            hit = any(ids[j : j + len(self.target)] == self.target for j in range(len(ids)))
            rows.append([0.0, 5.0 if hit else -5.0])
        return SimpleNamespace(logits=torch.tensor(rows))


async def test_the_reranker_decides_which_passages_are_read(
    settings: InferenceSettings, tiny_models: dict[str, Path]
) -> None:
    filler = [
        {"document": f"f{i}.txt", "text": f"Filler passage {i}.", "score": 1.0} for i in range(3)
    ]
    last = {"document": "rules.txt", "text": "The password is swordfish.", "score": 0.1}
    passages = [*filler, last]  # retrieval put the answer fourth: past the three read
    question = "What is the password?"
    async with InferenceService(settings) as service:
        await service.preload(["ask"])
        ((reader, _),) = [(m.reader, m.reranker) for m in service.loaded_models("ask")]
        target = reader.tokenizer("swordfish", add_special_tokens=False)["input_ids"]
        reader.model = PointingModel(target)
        unranked = await service.run("ask", question=question, passages=passages)
        assert not unranked.answerable
        assert [s.document for s in unranked.sources] == ["f0.txt", "f1.txt", "f2.txt"]

    reranking = settings.model_copy(update={"rerank_model": str(tiny_models["sentiment"])})
    async with InferenceService(reranking) as service:
        await service.preload(["ask"])
        ((reader, scorer),) = [(m.reader, m.reranker) for m in service.loaded_models("ask")]
        reader.model = PointingModel(target)
        scorer.model = Preferring(
            scorer.tokenizer("swordfish", add_special_tokens=False)["input_ids"]
        )
        ranked = await service.run("ask", question=question, passages=passages)
    assert (ranked.answer, ranked.sources[0].document) == ("swordfish", "rules.txt")
