"""Placeholder: being written this session."""

from django.http import Http404


def dashboard(request, *args, **kwargs):
    raise Http404


def signup(request, *args, **kwargs):
    raise Http404


def project_edit(request, *args, **kwargs):
    raise Http404


def announcement_add(request, *args, **kwargs):
    raise Http404


def announcement(request, *args, **kwargs):
    raise Http404


def announcement_publish(request, *args, **kwargs):
    raise Http404


def announcement_cancel(request, *args, **kwargs):
    raise Http404


def announcement_republish(request, *args, **kwargs):
    raise Http404


def exclusion_add(request, *args, **kwargs):
    raise Http404


def exclusion_remove(request, *args, **kwargs):
    raise Http404
