#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/), from the repository's own tables:

* activation_uri: every activation URI literal of the parser's test table (xbl-mpsd-ext/src/activation.rs),
  with its placeholders ({GUID}, {inv}, {act}, …) filled in as the tests fill them;
* document_roundtrip: every document of XSAPI's multiplayer fixture (test-fixtures/xsapi/Multiplayer.json,
  or $XBL_MPSD_CONFORMANCE_DIR/Multiplayer.json);
* emulator_merge_validate: every session delta of that fixture as a one-write sequence, and a few join /
  update / leave sequences.

Run from anywhere: `python3 fuzz/seed_corpus.py`. Deterministic: file names are the SHA-1 of the content (as
libFuzzer names its own finds), so re-running changes nothing.
"""
import hashlib
import json
import os
import re
import sys

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)


def write(target, content):
    data = content.encode() if isinstance(content, str) else content
    folder = os.path.join(FUZZ, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def activation_seeds():
    source = open(os.path.join(ROOT, "xbl-mpsd-ext/src/activation.rs"), encoding="utf-8").read()
    values = {
        "GUID": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        "GUID_UPPER": "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D",
        "inv": "ms-xbl-multiplayer://inviteHandleAccept",
        "act": "ms-xbl-multiplayer://activityHandleJoin",
    }
    seeds = set()
    for literal in re.findall(r'"((?:ms-xbl|\{inv\}|\{act\})[^"\s]*)"', source):
        uri = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), literal)
        uri = uri.replace("{{", "{").replace("}}", "}")
        seeds.add(uri.rstrip("\\"))
    for uri in sorted(seeds):
        write("activation_uri", uri)
    return len(seeds)


def corpus():
    folders = [os.environ.get("XBL_MPSD_CONFORMANCE_DIR"), os.path.join(ROOT, "test-fixtures/xsapi")]
    for folder in filter(None, folders):
        path = os.path.join(folder, "Multiplayer.json")
        if os.path.isfile(path):
            return json.load(open(path, encoding="utf-8"))
    sys.exit(f"Multiplayer.json not found in {folders}")


DELTA_HINTS = ("Json", "ExpectedRequest")
NOT_DELTAS = {"activityJson", "transferHandleJson", "searchHandleJson", "inviteRequestJson",
              "transferHandleResponseJson", "inviteResponseJson", "searchHandlesRequestJson",
              "searchHandlesWithSocialGroupRequestJson", "activitiesForUserRequestJson",
              "activitiesForSocialGroupRequestJson", "searchHandlesResponseJson",
              "activitiesForUserResponseJson", "activitiesForSocialGroupResponseJson", "rtaConnectionIdJson",
              "rtaSessionUpdateJson", "defaultQuerySessionsResponse"}


def main():
    activations = activation_seeds()
    documents = corpus()
    for doc in documents.values():
        write("document_roundtrip", json.dumps(doc, indent=1))
    join = {"members": {"me": {"constants": {"system": {"initialize": True}},
                               "properties": {"system": {"active": True}}}}}
    leave = {"members": {"me": None}}
    deltas = [doc for name, doc in documents.items()
              if name not in NOT_DELTAS and isinstance(doc, dict) and "membersInfo" not in doc
              and any(h in name for h in DELTA_HINTS)]
    sequences = [[delta] for delta in deltas]
    sequences += [[join, delta] for delta in deltas]
    sequences += [
        [join, join, leave, leave],
        [join, join, {"properties": {"custom": {"round": 1}}}, {"properties": {"custom": {"round": None}}}],
        [{"constants": {"system": {"maxMembersCount": 1, "visibility": "open"}}, **join}, join],
        [join, {"members": {"me": {"properties": {"system": {"active": False}}}}}, leave],
        [join, {"servers": {"matchmaking": {"properties": {"system": {"status": "searching"}}}}}, {"servers": {}}],
    ]
    for sequence in sequences:
        write("emulator_merge_validate", json.dumps(sequence))
    print(f"activation_uri: {activations} seeds; document_roundtrip: {len(documents)}; "
          f"emulator_merge_validate: {len(sequences)}")


if __name__ == "__main__":
    main()
