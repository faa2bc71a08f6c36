"""Placeholder: being written this session."""

from django.http import Http404


def objection_queue(request, *args, **kwargs):
    raise Http404


def objection_detail(request, *args, **kwargs):
    raise Http404
