"""The shell-command side-effect recogniser: what kubectl, helm, argocd, aws, terraform and Litmus create or delete."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.commands import CREATE, DELETE, CommandEffect, effects_of_command, effects_of_template, kube_kind
from tests.hypokit import examples


def _summary(effects: list[CommandEffect]) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.kind, e.name) for e in effects]


def test_kubectl_delete_of_several_names_yields_one_effect_each() -> None:
    effects = effects_of_command("kubectl delete chaosengine a  b -n {{workflow.parameters.ns}}")
    assert _summary(effects) == [(DELETE, "chaosengine", "a"), (DELETE, "chaosengine", "b")]
    assert effects[0].tool == "kubectl"
    assert effects[0].command == "kubectl delete chaosengine a b -n {{workflow.parameters.ns}}"


def test_kind_slash_name_aliases_plurals_and_api_groups_are_normalised() -> None:
    text = "kubectl delete deploy/web svc/web && kubectl delete chaosengines.litmuschaos.io x; oc delete policies p"
    assert _summary(effects_of_command(text)) == [
        (DELETE, "deployment", "web"), (DELETE, "service", "web"), (DELETE, "chaosengine", "x"),
        (DELETE, "policy", "p"),
    ]
    assert kube_kind("Ingresses") == "ingress"
    assert kube_kind("NetworkPolicy") == "networkpolicy"


def test_delete_by_selector_keeps_the_selector_and_no_name() -> None:
    effects = effects_of_command("kubectl delete pods,svc -l app=x")
    assert [(e.kind, e.name, e.selector) for e in effects] == [("pod", None, "app=x"), ("service", None, "app=x")]


def test_flags_before_the_verb_and_equals_forms_are_skipped() -> None:
    text = "kubectl --context=prod -n x create deployment nginx --image=nginx"
    assert _summary(effects_of_command(text)) == [(CREATE, "deployment", "nginx")]


def test_typed_create_subcommands_take_the_name_after_the_type() -> None:
    text = "kubectl create secret generic tok --from-literal=a=b\nkubectl create service clusterip web --tcp=80"
    assert _summary(effects_of_command(text)) == [(CREATE, "secret", "tok"), (CREATE, "service", "web")]


def test_dry_run_create_piped_into_apply_creates_the_dry_run_object() -> None:
    text = "kubectl create secret generic tok --dry-run=client -o yaml | kubectl apply -f - -n ns"
    effects = effects_of_command(text)
    assert _summary(effects) == [(CREATE, "secret", "tok")]
    assert effects[0].file == "-"


def test_heredoc_manifest_applied_from_stdin_is_read_with_its_argo_expressions() -> None:
    text = (
        "set -e\ncat <<EOF | kubectl apply -f -\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        "  labels:\n    name: not-this\n  name: cfg-{{ inputs.parameters.x }}\nEOF\necho done\n"
    )
    assert _summary(effects_of_command(text)) == [(CREATE, "configmap", "cfg-{{ inputs.parameters.x }}")]


def test_generate_name_is_reported_as_a_prefix_with_a_star() -> None:
    text = "kubectl create -f - <<'END'\nkind: Job\nmetadata:\n  generateName: run-\nEND\n"
    assert _summary(effects_of_command(text)) == [(CREATE, "job", "run-*")]


def test_file_whose_content_is_unknown_gives_an_unnamed_effect_with_the_file() -> None:
    effects = effects_of_command("sleep 20 | kubectl delete  -f /tmp/d.yaml -n x | echo 'x' | sleep 20")
    assert [(e.action, e.kind, e.name, e.file) for e in effects] == [(DELETE, "", None, "/tmp/d.yaml")]


def test_dry_runs_gets_and_comments_have_no_effect() -> None:
    text = ("kubectl get pods\n# kubectl delete ns prod\nkubectl delete ns prod --dry-run=server\n"
            "helm install x c --dry-run")
    assert effects_of_command(text) == []


def test_line_continuations_join_one_command() -> None:
    assert _summary(effects_of_command("kubectl delete \\\n  job foo")) == [(DELETE, "job", "foo")]


def test_sh_c_inside_a_script_is_followed() -> None:
    text = "bash -euo pipefail -c 'kubectl rollout undo deployment web' && sh -c \"helm rollback api 3\""
    assert _summary(effects_of_command(text)) == [(DELETE, "deployment", "web"), (DELETE, "helm-release", "api")]


def test_helm_releases() -> None:
    text = "helm upgrade --install web ./chart -n prod --set a=b && helm uninstall old other\nhelm install -g c"
    assert _summary(effects_of_command(text)) == [
        (CREATE, "helm-release", "web"), (DELETE, "helm-release", "old"), (DELETE, "helm-release", "other"),
        (CREATE, "helm-release", None),
    ]


def test_argocd_applications() -> None:
    text = ("argocd app create myapp --repo x --path y --grpc-web; argocd app delete {{inputs.parameters.app}} "
            "--cascade -y\nargocd app rollback {{inputs.parameters.app}} 4\nargocd app sync myapp")
    assert _summary(effects_of_command(text)) == [
        (CREATE, "argocd-application", "myapp"), (DELETE, "argocd-application", "{{inputs.parameters.app}}"),
        (DELETE, "argocd-application", "{{inputs.parameters.app}}"),
    ]


def test_aws_s3_copies_create_the_destination_and_rm_deletes() -> None:
    text = ("aws s3 ls s3://a && aws s3 cp --recursive --acl authenticated-read 's3://a/b' 's3://c/{{workflow.uid}}'"
            "\naws s3 rm --recursive s3://c/old\naws s3 cp ./x s3://c/y --dryrun")
    assert _summary(effects_of_command(text)) == [
        (CREATE, "s3-prefix", "s3://c/{{workflow.uid}}"), (DELETE, "s3-prefix", "s3://c/old"),
    ]


def test_terraform_apply_destroy_and_apply_destroy() -> None:
    text = "terraform init && terraform apply -auto-approve\nterraform -chdir=infra destroy\nterraform apply -destroy"
    assert _summary(effects_of_command(text)) == [
        (CREATE, "terraform-stack", None), (DELETE, "terraform-stack", "infra"), (DELETE, "terraform-stack", None),
    ]


def test_wrappers_and_assignments_before_a_command_are_skipped() -> None:
    text = "KUBECONFIG=/k sudo timeout 60 kubectl delete job j\nif kubectl get x; then env A=1 helm uninstall r; fi"
    assert _summary(effects_of_command(text)) == [(DELETE, "job", "j"), (DELETE, "helm-release", "r")]


def test_unbalanced_quotes_are_read_word_by_word() -> None:
    assert _summary(effects_of_command("echo \"oops\nkubectl delete job j")) == [(DELETE, "job", "j")]


def test_template_with_shell_command_and_args() -> None:
    template = {"container": {"image": "bitnami/kubectl", "command": ["sh", "-c"],
                              "args": ["kubectl apply -f /tmp/x.yaml"]},
                "inputs": {"artifacts": [{"name": "m", "path": "/tmp/x.yaml",
                                          "raw": {"data": "kind: ChaosEngine\nmetadata:\n  name: hog\n"}}]}}
    effects = effects_of_template(template)
    assert _summary(effects) == [(CREATE, "chaosengine", "hog")]
    assert effects[0].file == "/tmp/x.yaml"


def test_template_with_exec_form_and_script_source_and_container_set() -> None:
    template = {"script": {"image": "alpine/helm", "command": ["bash"], "source": "helm uninstall web\n"}}
    assert _summary(effects_of_template(template)) == [(DELETE, "helm-release", "web")]
    exec_form = {"container": {"image": "k", "command": ["kubectl"], "args": ["delete", "job", "j"]}}
    assert _summary(effects_of_template(exec_form)) == [(DELETE, "job", "j")]
    container_set = {"containerSet": {"containers": [
        {"name": "a", "image": "k", "command": ["kubectl", "create", "namespace", "n"]},
        {"name": "b", "image": "k", "command": ["/bin/sh", "-ec", "kubectl delete namespace n"]},
    ]}}
    assert _summary(effects_of_template(container_set)) == [(CREATE, "namespace", "n"), (DELETE, "namespace", "n")]


def test_python_script_source_is_not_read_as_shell() -> None:
    template = {"script": {"image": "python", "command": ["python"], "source": "print('kubectl delete ns x')"}}
    assert effects_of_template(template) == []


def test_litmus_images() -> None:
    deployer = {"container": {"image": "litmuschaos/litmus-app-deployer:latest",
                              "args": ["-namespace=x", "-operation=delete", "-app=podtato"]}}
    assert _summary(effects_of_template(deployer)) == [(DELETE, "litmus-application", "podtato")]
    checker = {"container": {"image": "litmuschaos/litmus-checker:latest", "args": ["-file=/tmp/e.yaml"]},
               "inputs": {"artifacts": [{"name": "e", "path": "/tmp/e.yaml",
                                         "raw": {"data": "kind: ChaosEngine\nmetadata:\n  generateName: e-\n"}}]}}
    assert _summary(effects_of_template(checker)) == [(CREATE, "chaosengine", "e-*")]


def test_malformed_templates_have_no_effects() -> None:
    assert effects_of_template({"container": "x", "script": {"source": 3}, "containerSet": {"containers": [1]}}) == []
    assert effects_of_template({"inputs": {"artifacts": [{"raw": {"data": 3}}]}}) == []


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet=st.sampled_from(list("kubectl delete helm -f -l |&;\n'\"\\<EOF{}$()#=/x"))))
def test_any_text_is_read_without_error(text: str) -> None:
    for effect in effects_of_command(text):
        assert effect.action in (CREATE, DELETE)
        assert effect.command
