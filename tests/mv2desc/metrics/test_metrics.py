"""Caption metrics: the LP-MusicCaps golden figures, small exact cases, WordNet set-up, BERTScore, the CLI."""

from __future__ import annotations

import json
import math
import shutil
import string
from pathlib import Path

import pytest

from conftest import REPO
from mv2desc.cli import main as cli_main
from mv2desc.errors import UserError
from mv2desc.metrics import score_captions
from mv2desc.metrics.bleu import corpus_bleu
from mv2desc.metrics.tokenize import ptb_words, treebank_words, words_13a
from mv2desc.metrics.wordnet import LEXNAMES, WordNetMissing, build_nltk_wordnet
from train.eval_cmd import main as eval_main

GOLDEN = REPO.parent / "shared" / "data" / "lpmc"
GOLDEN_SETS = ("baseline_template", "caption_writing")


def read_golden(name: str) -> tuple[list[str], list[str], dict]:
    rows = [json.loads(line) for line in (GOLDEN / f"{name}.jsonl").read_text().splitlines() if line.strip()]
    published = json.loads((GOLDEN / f"{name}.published.json").read_text())
    return [r["prediction"] for r in rows], [r["reference"] for r in rows], published


@pytest.fixture(scope="module")
def golden() -> dict[str, tuple[dict, dict]]:
    """{set name: (our scores, published scores)}, computed once per module (~10 s a set)."""
    if not all((GOLDEN / f"{name}.jsonl").is_file() for name in GOLDEN_SETS):
        pytest.skip(f"LP-MusicCaps golden data not found at {GOLDEN} (only CI and developers have ../shared)")
    out = {}
    for name in GOLDEN_SETS:
        predictions, references, published = read_golden(name)
        out[name] = (score_captions(predictions, references), published)
    return out


# ---------------------------------------------------------------- golden: LP-MusicCaps published figures


@pytest.mark.parametrize("name", GOLDEN_SETS)
def test_golden_bleu_reproduces_published_exactly(golden, name):
    ours, published = golden[name]
    assert ours["n"] == 2839
    for n in range(1, 5):
        assert ours[f"bleu{n}"] == pytest.approx(published[f"bleu{n}"], abs=1e-12), n


@pytest.mark.parametrize("name", GOLDEN_SETS)
def test_golden_rouge_l_within_bootstrap_noise(golden, name):
    # published = median of 1,000 unseeded bootstrap means; ours = the mean itself (|diff| ~ 7e-5 here)
    ours, published = golden[name]
    assert abs(ours["rougeL"] - published["rougeL"]) < 3e-4


@pytest.mark.parametrize("name", GOLDEN_SETS)
def test_golden_meteor_close_to_published(golden, name):
    # nltk METEOR as evaluate ran it; the residual (< 3e-5) is punkt's sentence split, unavailable offline
    ours, published = golden[name]
    assert abs(ours["meteor"] - published["meteor_1.0"]) < 1e-4


def test_golden_scores_are_plausible(golden):
    for ours, _ in golden.values():
        assert 0.1 < ours["cider"] < 1.0
        assert "bertscore" not in ours and any("bertscore skipped" in n for n in ours["notes"])


@pytest.mark.skipif(shutil.which("java") is None, reason="java not installed (only the cross-check needs it)")
def test_golden_cider_matches_java_ptb_tokenizer(golden):
    """Our Python PTB tokenisation gives the CIDEr that COCO's Java tokenizer gives."""
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    predictions, references, _ = read_golden("caption_writing")
    tokenizer = PTBTokenizer()
    refs = tokenizer.tokenize({i: [{"caption": r}] for i, r in enumerate(references)})
    preds = tokenizer.tokenize({i: [{"caption": p}] for i, p in enumerate(predictions)})
    java_cider, _ = Cider().compute_score(refs, preds)
    assert golden["caption_writing"][0]["cider"] == pytest.approx(java_cider, abs=2e-4)


def test_golden_bleu_agrees_with_sacrebleu_single_reference():
    """An independent implementation: with one reference sacrebleu's BLEU (13a, no smoothing) is the same."""
    if not (GOLDEN / "caption_writing.jsonl").is_file():
        pytest.skip(f"LP-MusicCaps golden data not found at {GOLDEN}")
    from sacrebleu.metrics import BLEU

    predictions, references, _ = read_golden("caption_writing")
    predictions, references = predictions[:300], references[:300]
    ours = corpus_bleu(predictions, [[r] for r in references])
    for n in range(1, 5):
        theirs = BLEU(tokenize="13a", smooth_method="none", max_ngram_order=n).corpus_score(predictions, [references])
        assert ours[f"bleu{n}"] == pytest.approx(theirs.score / 100, abs=1e-9)


# ---------------------------------------------------------------- small exact cases

SENTENCE = "A mellow acoustic guitar ballad with soft male vocals and gentle brushed drums."


def test_identical_caption_scores_one():
    scores = score_captions([SENTENCE, "Fast electronic dance track with a pounding kick."],
                            [SENTENCE, "Fast electronic dance track with a pounding kick."])
    for n in range(1, 5):
        assert scores[f"bleu{n}"] == pytest.approx(1.0)
    assert scores["rougeL"] == pytest.approx(1.0)
    assert scores["meteor"] > 0.99
    assert scores["cider"] > 0


def test_no_overlap_scores_zero():
    scores = score_captions(["loud distorted metal riffs", "quiet harp arpeggios"],
                            ["a children's choir sings", "an orchestra tunes up"])
    for key in ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rougeL", "cider"):
        assert scores[key] == 0.0, key


def test_multiple_references_clip_and_brevity_by_hand():
    # unigram matches clipped by the max count in any one reference: the x2, cat, on, mat = 5 of 6;
    # bigrams "the cat", "on the", "the mat" = 3 of 5; c = 6 = shortest reference -> brevity 1
    scores = corpus_bleu(["the cat sat on the mat"], [["the cat is on the mat", "there is a cat on the mat"]])
    assert scores["bleu1"] == pytest.approx(5 / 6)
    assert scores["bleu2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5))
    # shorter than the shortest reference (6): brevity exp(1 - 6/5)
    assert corpus_bleu(["the cat on the mat"], [["the cat is on the mat", "there is a cat on the mat"]])["bleu1"] == (
        pytest.approx(math.exp(1 - 6 / 5)))


def test_brevity_uses_shortest_reference_not_closest():
    # tensorflow-nmt / evaluate convention: r = shortest (4) < c = 7 -> no penalty (sacrebleu would use 8)
    scores = corpus_bleu(["the cat sat on the red mat"], [["the cat sat down", "the cat sat on the red mat today"]])
    assert scores["bleu4"] == pytest.approx(1.0)


def test_multiple_references_take_the_best_per_prediction():
    refs = [["something else entirely", SENTENCE], ["a solo violin plays", "violin solo"]]
    multi = score_captions([SENTENCE, "a solo violin plays"], refs)
    assert multi["rougeL"] == pytest.approx(1.0)
    assert multi["meteor"] > 0.99


def test_string_and_list_references_agree():
    preds = ["upbeat pop song with synths", "slow sad piano"]
    assert score_captions(preds, ["upbeat pop with synth pads", "a sad slow piano piece"]) == score_captions(
        preds, [["upbeat pop with synth pads"], ["a sad slow piano piece"]])


def test_cider_needs_a_corpus():
    one = score_captions([SENTENCE], [SENTENCE])
    assert one["cider"] == 0.0 and any("single prediction" in n for n in one["notes"])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        score_captions(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no predictions"):
        score_captions([], [])
    with pytest.raises(ValueError, match="non-empty list"):
        score_captions(["a"], [[]])


def test_tokenizers_follow_their_conventions():
    assert words_13a("Rock, pop & 3.5 kHz.") == ["Rock", ",", "pop", "&", "3.5", "kHz", "."]
    assert treebank_words("It sounds sad. It's slow!") == ["It", "sounds", "sad", ".", "It", "'s", "slow", "!"]
    assert ptb_words("An R&B/soul song (live), it's low-quality.") == [
        "an", "r&b", "/", "soul", "song", "-lrb-", "live", "-rrb-", "it", "'s", "low-quality"]


# ---------------------------------------------------------------- WordNet for METEOR


def test_wordnet_folder_is_copied_with_lexnames(tmp_path):
    if not Path("/usr/share/wordnet/index.sense").is_file():
        pytest.fail("WordNet missing: scripts/setup.sh installs wordnet-base + wordnet-sense-index")
    data_dir = build_nltk_wordnet(tmp_path)
    wordnet = data_dir / "corpora" / "wordnet"
    files = list(wordnet.iterdir())
    assert files and not any(f.is_symlink() for f in files)
    lexnames = (wordnet / "lexnames").read_text().splitlines()
    assert len(lexnames) == len(LEXNAMES) == 45
    assert lexnames[3] == "03\tnoun.Tops\t1" and lexnames[44] == "44\tadj.ppl\t3"
    before = (wordnet / "lexnames").stat().st_mtime_ns
    assert build_nltk_wordnet(tmp_path) == data_dir
    assert (wordnet / "lexnames").stat().st_mtime_ns == before  # built once


def test_wordnet_missing_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("MV2DESC_WORDNET_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(WordNetMissing, match="apt-get install wordnet-base wordnet-sense-index"):
        build_nltk_wordnet(tmp_path / "cache")
    assert isinstance(WordNetMissing("x"), UserError)  # the CLI prints it as one line


# ---------------------------------------------------------------- BERTScore with a tiny random local BERT


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = "a calm piano piece with soft strings loud rock song drums the and music".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.punctuation, *words,
             *("##" + c for c in string.ascii_lowercase)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(folder / "vocab.txt"), model_max_length=128).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    return folder


def test_bertscore_with_local_model(tiny_bert):
    preds = ["a calm piano piece", "loud rock song"]
    same = score_captions(preds, preds, bertscore_model=tiny_bert)
    assert same["bertscore"] == pytest.approx(1.0, abs=1e-4)
    assert any("layer 2" in n and "no idf" in n for n in same["notes"])
    other = score_captions(preds, [["soft strings"], ["the drums", "music"]], bertscore_model=tiny_bert, bertscore_layers=1)
    assert 0.0 < other["bertscore"] < 1.0
    assert any("layer 1" in n for n in other["notes"])


def test_bertscore_bad_model_folders(tmp_path, tiny_bert):
    with pytest.raises(UserError, match="not found"):
        score_captions(["a"], ["a"], bertscore_model=tmp_path / "missing")
    broken = tmp_path / "no-max-length"
    shutil.copytree(tiny_bert, broken)
    config = json.loads((broken / "tokenizer_config.json").read_text())
    config.pop("model_max_length", None)
    (broken / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="model_max_length"):
        score_captions(["a"], ["a"], bertscore_model=broken)


# ---------------------------------------------------------------- CLI: mv2desc eval score


def write_jsonl(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


PAIRS = (
    json.dumps({"prediction": "a calm piano piece with soft strings", "reference": "a calm piano piece with strings"}),
    "",
    json.dumps({"prediction": "loud rock song", "reference": ["a loud rock song with drums", "rock music"], "id": "x"}),
)


def test_cli_score_prints_and_writes_json(tmp_path, capsys, tiny_bert):
    predictions = write_jsonl(tmp_path / "pred.jsonl", *PAIRS)
    out = tmp_path / "out" / "metrics.json"
    assert eval_main(["score", "--predictions", str(predictions), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["n"] == 2 and {"bleu1", "bleu4", "meteor", "rougeL", "cider"} <= set(printed)
    assert "bertscore" not in printed
    assert eval_main(["score", "--predictions", str(predictions), "--bertscore-model", str(tiny_bert)]) == 0
    assert 0 < json.loads(capsys.readouterr().out)["bertscore"] <= 1


def test_cli_is_registered(capsys):
    assert cli_main(["eval", "--help"]) == 0
    assert "mv2desc eval score" in capsys.readouterr().out
    assert cli_main(["--help"]) == 0
    assert "  eval" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (None, "predictions file not found"),
        ((), "holds no prediction lines"),
        (("", "  "), "holds no prediction lines"),
        ((PAIRS[0], '{"prediction": "x", '), ":2: not valid JSON"),
        ((PAIRS[0], "[1, 2]"), ":2: expected a JSON object"),
        ((json.dumps({"prediction": "x"}),), ":1: missing key 'reference' (keys: prediction)"),
        ((json.dumps({"text": "x"}),), ":1: missing key 'prediction' and 'reference'"),
        ((json.dumps({"prediction": 3, "reference": "x"}),), ":1: 'prediction' must be a string"),
        ((json.dumps({"prediction": "x", "reference": []}),), ":1: 'reference' must be a string or a non-empty list"),
    ],
)
def test_cli_input_errors_are_one_line(tmp_path, capsys, lines, message):
    path = tmp_path / "pred.jsonl"
    if lines is not None:
        write_jsonl(path, *lines)
    assert eval_main(["score", "--predictions", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err


def test_cli_unknown_subcommand(capsys):
    assert eval_main(["run-all"]) == 2
    assert "unknown eval command 'run-all'" in capsys.readouterr().err


# ---------------------------------------------------------------- issue 10, row 11


@pytest.mark.parametrize("refs", [[[""], [""]], [["..."], ["!!", " "]]])
def test_row11_cider_all_empty_references_scores_zero(refs):
    # pycocoevalcap crashes (max() of an empty IDF table); no reference n-gram means nothing can
    # match, which is what an empty reference among non-empty ones already scores: 0
    from mv2desc.metrics.cider import cider_d

    assert cider_d(["a dog barks", "a cat"], refs) == 0.0


def test_row11_score_captions_all_empty_references_end_to_end():
    scores = score_captions(["a dog barks", "a cat"], [[""], ["..."]])
    assert scores["cider"] == 0.0
    for key in ("bleu1", "bleu4", "meteor", "rougeL"):
        assert scores[key] == 0.0, key


def test_row11_cider_empty_input_is_a_clear_error():
    from mv2desc.metrics.cider import cider_d

    with pytest.raises(ValueError, match="no predictions"):
        cider_d([], [])
