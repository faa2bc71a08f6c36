"""Placeholder: being written this session."""

from django.http import Http404


def room_page(request, *args, **kwargs):
    raise Http404
