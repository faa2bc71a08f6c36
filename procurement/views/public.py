"""Placeholder: being written this session."""

from django.http import Http404


def announcement_list(request, *args, **kwargs):
    raise Http404


def verifier(request, *args, **kwargs):
    raise Http404


def announcement_detail(request, *args, **kwargs):
    raise Http404


def draw_record(request, *args, **kwargs):
    raise Http404
