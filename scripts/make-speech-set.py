#!/usr/bin/python3
"""make-speech-set.py - a speech development set: espeak-ng voices saying the
same seeded sentences (the speaker is the static factor, the words the dynamic
one).

    scripts/make-speech-set.py --out DIR [--sentences 100] [--voices LIST] [--seed 1]
                               [--valid-fraction 0.2] [--seconds 4.0]

Writes DIR/clip_NNNNN.wav (16-bit mono at espeak-ng's 22050 Hz, silence-padded
or cut to --seconds; the loaders resample to 16 kHz) and DIR/factors.csv with
the columns path, speaker, sentence (index of the sentence: the same value is
the same words), split (train / valid by whole sentences, seeded) and text.
Each clip gets a seeded speaking rate (150-180 words per minute) and a
pitch offset of +-6 around the voice's base (espeak-ng -s, -p), so two
clips of one sentence differ in timing as well as in the voice. Sentences
too long for --seconds at the clip's rate are redrawn (deterministically).
Needs only espeak-ng and the Python standard library; the same arguments give
the same files for one espeak-ng installation.
"""
import argparse
import array
import csv
import os
import random
import subprocess
import sys
import tempfile
import wave

DEFAULT_VOICES = "en-us+m3,en-us+f2,en-gb+m1,en-gb-scotland+f4"

SUBJECTS = ["the old man", "a young girl", "my brother", "the teacher", "our neighbour", "the small dog",
            "a tired worker", "the doctor", "his sister", "the farmer", "a quiet child", "the baker"]
VERBS = ["found", "painted", "carried", "opened", "cleaned", "watched", "bought", "sold", "dropped",
         "fixed", "lost", "needed", "wanted", "moved", "built", "counted"]
OBJECTS = ["a red box", "the green door", "seven apples", "an empty glass", "the blue car", "a wooden chair",
           "the heavy bag", "two old books", "a silver key", "the yellow boat", "four warm coats", "the map"]
TAILS = ["", "", "yesterday", "in the morning", "after dinner", "near the river", "last week", "at noon",
         "before the rain", "on monday"]


def sentence(rng):
    s = "%s %s %s" % (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS))
    t = rng.choice(TAILS)
    return (s + " " + t).strip()


def synth(voice, rate, pitch, text, tmp):
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", tmp, text],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with wave.open(tmp, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit("espeak-ng wrote %d channels of %d bytes" % (w.getnchannels(), w.getsampwidth()))
        sr = w.getframerate()
        pcm = array.array("h", w.readframes(w.getnframes()))
    return sr, pcm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sentences", type=int, default=100)
    ap.add_argument("--voices", default=DEFAULT_VOICES)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--valid-fraction", type=float, default=0.2)
    ap.add_argument("--seconds", type=float, default=4.0)
    a = ap.parse_args()
    voices = [v for v in a.voices.split(",") if v]
    if len(voices) < 2 or a.sentences < 2 or not (0 <= a.valid_fraction < 1):
        raise SystemExit("make-speech-set: need >= 2 voices, >= 2 sentences, 0 <= valid-fraction < 1")
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    texts, seen = [], set()
    while len(texts) < a.sentences:
        s = sentence(rng)
        if s not in seen:
            seen.add(s)
            texts.append(s)
    order = list(range(a.sentences))
    random.Random(a.seed + 1).shuffle(order)
    valid = set(order[:int(a.valid_fraction * a.sentences + 0.5)])
    rows, clip = [], 0
    fd, tmp = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        for si, text in enumerate(texts):
            for voice in voices:
                crng = random.Random("%d/%d/%s" % (a.seed, si, voice))
                for attempt in range(20):
                    rate = crng.randint(150 + 5 * attempt, 180 + 5 * attempt)
                    pitch = 50 + crng.randint(-6, 6)
                    sr, pcm = synth(voice, rate, pitch, text, tmp)
                    n = int(round(a.seconds * sr))
                    if len(pcm) <= n:
                        break
                else:
                    raise SystemExit("sentence %d too long for %.1f s with voice %s" % (si, a.seconds, voice))
                pcm.extend([0] * (n - len(pcm)))
                name = "clip_%05d.wav" % clip
                with wave.open(os.path.join(a.out, name), "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(sr)
                    w.writeframes(pcm[:n].tobytes())
                rows.append([name, voice, si, "valid" if si in valid else "train", text])
                clip += 1
    finally:
        os.unlink(tmp)
    with open(os.path.join(a.out, "factors.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "speaker", "sentence", "split", "text"])
        w.writerows(rows)
    print("make-speech-set: %d clips (%d sentences x %d voices) in %s" % (clip, a.sentences, len(voices), a.out))


if __name__ == "__main__":
    sys.exit(main())
