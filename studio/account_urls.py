from django.contrib.auth import views as auth_views
from django.urls import path

from . import entra, views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("logout/everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("microsoft/", entra.sign_in, name="msal_login"),
    path("microsoft/callback/", entra.callback, name="msal_callback"),
]
