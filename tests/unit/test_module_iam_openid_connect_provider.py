"""shipyard.fargate.iam_openid_connect_provider: the pure decisions (which provider, what it is, should be, which calls
differ) and the input checks that run before any AWS client."""

from __future__ import annotations

import datetime
import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.modules import iam_openid_connect_provider as module

ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
PRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"
# GetOpenIDConnectProvider as IAM answers it.
DESCRIBED = {
    "Url": "token.actions.githubusercontent.com",
    "ClientIDList": ["sts.amazonaws.com", "other-audience"],
    "ThumbprintList": [PRINT.upper()],
    "CreateDate": datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC),
    "Tags": [{"Key": "team", "Value": "platform"}],
}


def params(**overrides):
    base = {
        "url": "https://token.actions.githubusercontent.com",
        "client_ids": ["sts.amazonaws.com"],
        "purge_client_ids": True,
        "thumbprints": None,
        "state": "present",
        "tags": None,
        "purge_tags": True,
    }
    base.update(overrides)
    return base


def current():
    return module._view(DESCRIBED, {"team": "platform"}, ARN)


@pytest.mark.parametrize(
    ("url", "issuer"),
    [
        ("https://token.actions.githubusercontent.com", "token.actions.githubusercontent.com"),
        ("https://Token.Actions.GitHubUserContent.com/", "token.actions.githubusercontent.com"),
        ("https://ghe.example.com/_services/token", "ghe.example.com/_services/token"),
        ("token.actions.githubusercontent.com", "token.actions.githubusercontent.com"),
    ],
)
def test_the_issuer_is_what_iam_stores(url, issuer):
    assert module._issuer(url) == issuer


def test_the_provider_is_found_by_its_issuer_only():
    assert module._is_provider_of(ARN, "token.actions.githubusercontent.com")
    assert not module._is_provider_of(ARN, "token.actions.githubusercontent.co")
    assert not module._is_provider_of(ARN + "/x", "token.actions.githubusercontent.com")
    assert not module._is_provider_of("arn:aws:iam::123456789012:role/x", "x")


def test_the_view_is_normalized():
    assert current() == {
        "arn": ARN,
        "url": "token.actions.githubusercontent.com",
        "client_ids": ["other-audience", "sts.amazonaws.com"],
        "thumbprints": [PRINT],
        "tags": {"team": "platform"},
        "create_date": "2024-05-01T12:00:00+00:00",
    }
    assert module._view(None, {}) == {}


def test_unset_thumbprints_and_tags_are_left_alone_and_purge_removes_other_audiences():
    plan = module._plan(current(), module._desired(params(), current()))
    assert plan == {"remove_client_ids": ["other-audience"]}


def test_without_purge_an_audience_is_only_added():
    want = module._desired(params(client_ids=["sts.amazonaws.com", "new"], purge_client_ids=False), current())
    assert want["client_ids"] == ["new", "other-audience", "sts.amazonaws.com"]
    assert module._plan(current(), want) == {"add_client_ids": ["new"]}


def test_the_same_provider_needs_no_call():
    want = module._desired(
        params(
            client_ids=["other-audience", "sts.amazonaws.com", "sts.amazonaws.com"],
            thumbprints=[PRINT.upper()],
            tags={"team": "platform"},
        ),
        current(),
    )
    assert module._plan(current(), want) == {}


def test_thumbprints_are_replaced_and_tags_converged():
    other = "a" * 40
    want = module._desired(params(purge_client_ids=False, thumbprints=[other], tags={"env": "prod"}), current())
    assert module._plan(current(), want) == {"thumbprints": [other], "tag": {"env": "prod"}, "untag": ["team"]}
    merged = module._desired(params(purge_client_ids=False, tags={"env": "prod"}, purge_tags=False), current())
    assert module._plan(current(), merged) == {"tag": {"env": "prod"}}


def test_a_new_provider_gets_what_is_asked():
    want = module._desired(params(client_ids=["b", "a"], tags={"x": "y"}), {})
    assert want == {
        "arn": "",
        "url": "token.actions.githubusercontent.com",
        "client_ids": ["a", "b"],
        "thumbprints": [],
        "tags": {"x": "y"},
    }
    assert module._comparable(current()) == {
        "url": "token.actions.githubusercontent.com",
        "client_ids": ["other-audience", "sts.amazonaws.com"],
        "thumbprints": [PRINT],
        "tags": {"team": "platform"},
    }


def _no_client(*_args, **_kwargs):
    raise AssertionError("an AWS client was made before the input was checked")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"url": "http://token.actions.githubusercontent.com"}, "url 'http://"),
        ({"url": "https://issuer.example.com:8443"}, "url 'https://issuer.example.com:8443'"),
        ({"client_ids": []}, "client_ids is empty"),
        ({"client_ids": ["a" * 256]}, "client_ids: each audience is 1 to 255"),
        ({"thumbprints": ["not-hex"]}, "thumbprints must hold SHA-1"),
        ({"thumbprints": [PRINT] * 6}, "thumbprints has 6 entries"),
    ],
)
def test_bad_input_is_refused_before_any_aws_client(monkeypatch, capsys, args, named):
    monkeypatch.setattr(AnsibleAWSModule, "client", _no_client)
    args = {"url": "https://token.actions.githubusercontent.com", **args, "region": "us-east-1"}
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert named in result["msg"], result["msg"]


# --- the whole module against moto in-process (mock_aws: no network) ------------------------------------------------


@pytest.fixture
def iam(monkeypatch):
    """moto's IAM in-process, with the two audience calls moto 5.2.5 lacks served from its own provider model."""
    import boto3
    from moto import mock_aws
    from moto.core.responses import EmptyResult
    from moto.iam.responses import IamResponse

    def add_client_id(self):
        provider = self.backend.get_open_id_connect_provider(self._get_param("OpenIDConnectProviderArn"))
        if self._get_param("ClientID") not in provider.client_id_list:
            provider.client_id_list.append(self._get_param("ClientID"))
        return EmptyResult()

    def remove_client_id(self):
        provider = self.backend.get_open_id_connect_provider(self._get_param("OpenIDConnectProviderArn"))
        provider.client_id_list = [c for c in provider.client_id_list if c != self._get_param("ClientID")]
        return EmptyResult()

    monkeypatch.setattr(IamResponse, "add_client_id_to_open_id_connect_provider", add_client_id, raising=False)
    monkeypatch.setattr(IamResponse, "remove_client_id_from_open_id_connect_provider", remove_client_id, raising=False)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def run(capsys, check_mode=False, diff=False, **args):
    """The module's result for these options (the issuer token.actions.githubusercontent.com by default)."""
    args = {"url": "https://token.actions.githubusercontent.com", "region": "us-east-1", **args}
    args.update({"_ansible_check_mode": check_mode, "_ansible_diff": diff})
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert not result.get("failed"), result
    return result


def test_lifecycle_check_create_rerun_update_and_delete(iam, capsys):
    def held():
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)
        return (
            sorted(provider["ClientIDList"]),
            provider["ThumbprintList"],
            {t["Key"]: t["Value"] for t in provider["Tags"]},
        )

    planned = run(capsys, check_mode=True, diff=True, tags={"team": "platform"})
    assert planned["changed"] is True
    assert planned["diff"] == {
        "before": {},
        "after": {
            "url": "token.actions.githubusercontent.com",
            "client_ids": ["sts.amazonaws.com"],
            "thumbprints": [],
            "tags": {"team": "platform"},
        },
    }
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []  # check mode made nothing

    created = run(capsys, tags={"team": "platform"})
    assert (created["changed"], created["arn"]) == (True, ARN)
    assert held() == (["sts.amazonaws.com"], [], {"team": "platform"})
    assert run(capsys, tags={"team": "platform"})["changed"] is False

    # Another stack's audience is added without removing ours; then purged back.
    added = run(capsys, client_ids=["other"], purge_client_ids=False)
    assert added["changed"] is True
    assert held()[0] == ["other", "sts.amazonaws.com"]
    assert run(capsys, client_ids=["other"], purge_client_ids=False)["changed"] is False
    assert run(capsys)["changed"] is True
    assert held()[0] == ["sts.amazonaws.com"]

    # Thumbprints and tags: planned in check mode (nothing changes), then applied, --diff naming them.
    change = {"thumbprints": [PRINT.upper()], "tags": {"team": "deploy"}}
    planned = run(capsys, check_mode=True, diff=True, **change)
    assert planned["changed"] is True
    assert planned["diff"]["after"]["thumbprints"] == [PRINT]
    assert held() == (["sts.amazonaws.com"], [], {"team": "platform"})
    applied = run(capsys, diff=True, **change)
    assert applied["diff"]["before"]["tags"] == {"team": "platform"}
    assert applied["provider"]["thumbprints"] == [PRINT]
    assert held() == (["sts.amazonaws.com"], [PRINT], {"team": "deploy"})

    assert run(capsys, check_mode=True, state="absent")["changed"] is True
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1
    assert run(capsys, state="absent")["changed"] is True
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert run(capsys, state="absent")["changed"] is False
