from django.urls import path

from . import views

urlpatterns = [
    path("switch/", views.switch_workspace, name="switch_workspace"),
    path("members/", views.members, name="workspace_members"),
    path("members/add/", views.member_add, name="workspace_member_add"),
    path("members/<int:pk>/role/", views.member_role, name="workspace_member_role"),
    path("members/<int:pk>/remove/", views.member_remove, name="workspace_member_remove"),
    path("tokens/", views.tokens, name="workspace_tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="workspace_token_revoke"),
    path("audit/", views.audit, name="workspace_audit"),
]
