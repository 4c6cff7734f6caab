"""What users see from MLD201 (base-image-unpinned) and MLD203 (full-base-image)."""

from __future__ import annotations

import pytest

from mldlint.engine import lint_source
from mldlint.source import SourceFile


def lint(text: str, rule: str):
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"}, None)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply(text: str, fix) -> str:
    for e in sorted(fix.edits, key=lambda e: e.start, reverse=True):
        text = text[:e.start] + e.text + text[e.end:]
    return text


# ------------------------------------------------------------------------------ MLD201
def test_mld201_no_tag():
    (d,) = lint("FROM python\nRUN echo hi\n", "MLD201")
    assert (d.line, d.column, d.end_column) == (1, 6, 12)
    assert "`python`" in d.message and "no tag" in d.message


def test_mld201_latest():
    (d,) = lint("FROM pytorch/pytorch:latest AS train\n", "MLD201")
    assert d.column == 6 and "pytorch/pytorch:latest" in d.message and "`latest`" in d.message


def test_mld201_latest_from_arg_default():
    text = "ARG BASE_TAG=latest\nFROM nvidia/cuda:${BASE_TAG}\n"
    (d,) = lint(text, "MLD201")
    assert d.line == 2 and "nvidia/cuda:latest" in d.message and "${BASE_TAG}" in d.message


@pytest.mark.parametrize("text", [
    "FROM scratch\nCOPY app /app\n",
    "FROM python:3.11-slim AS builder\nFROM builder\n",
    "FROM python@sha256:" + "a" * 64 + "\n",
    "FROM python:3.11-slim\n",
    "ARG TAG=3.11-slim\nFROM python:${TAG}\n",
    "ARG TAG\nFROM python:${TAG}\n",                      # supplied at build time
    "FROM python:3\n",                                   # floating on purpose
    "ARG BASE_TAG=12.1.1-runtime-ubuntu22.04\nFROM nvidia/cuda:${BASE_TAG}\n",
    "FROM %%FROM%%\n",                                   # template placeholders
    "FROM PLACEHOLDER\n",
    # a phantom FROM swallowed by an unterminated python -c string (MLD101)
    'FROM python:3.10-slim\nRUN python -c "\nfrom transformers import AutoModel\n"\n',
])
def test_mld201_not_flagged(text):
    assert lint(text, "MLD201") == []


def test_mld201_registry_with_port():
    (d,) = lint("FROM registry.example.com:5000/team/app\n", "MLD201")
    assert "registry.example.com:5000/team/app" in d.message


# ------------------------------------------------------------------------------ MLD203
def test_mld203_final_stage_full_python():
    text = "FROM python:3.10\nWORKDIR /app\nCMD [\"python\", \"app.py\"]\n"
    (d,) = lint(text, "MLD203")
    assert (d.line, d.column, d.end_column) == (1, 6, 17)
    assert "python:3.10" in d.message and "python:3.10-slim" in d.message
    assert "~1 GB" in d.message and "~150 MB" in d.message
    assert d.fix.applicability == "unsafe"
    assert apply(text, d.fix).startswith("FROM python:3.10-slim\n")


def test_mld203_bookworm_and_debian():
    (d,) = lint("FROM python:3.11-bookworm AS b\nFROM python:3.11-bookworm\n", "MLD203")
    assert d.line == 2 and "python:3.11-slim-bookworm" in d.message
    (d,) = lint("FROM debian:12\n", "MLD203")
    assert "debian:12-slim" in d.message


def test_mld203_no_fix_through_arg():
    (d,) = lint("ARG PY=3.10\nFROM python:${PY}\n", "MLD203")
    assert d.fix is None


@pytest.mark.parametrize("text", [
    # builder stage on the full image, slim final stage (seed02)
    "FROM python:3.10 AS builder\nRUN pip wheel x\nFROM python:3.10-slim\n",
    "FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\n",
    "FROM ubuntu:22.04\n",
    "FROM python:3.11-alpine\n",
    "FROM node:20-slim\n",
    "FROM python:3.11 AS base\nFROM base\n",
    "FROM python:3.11-slim\n",
])
def test_mld203_not_flagged(text):
    assert lint(text, "MLD203") == []
