"""Placeholder: being written this session."""

from django.http import Http404


def feed(request, *args, **kwargs):
    raise Http404


def register(request, *args, **kwargs):
    raise Http404


def registration(request, *args, **kwargs):
    raise Http404


def confirm(request, *args, **kwargs):
    raise Http404


def decline(request, *args, **kwargs):
    raise Http404


def objection(request, *args, **kwargs):
    raise Http404
