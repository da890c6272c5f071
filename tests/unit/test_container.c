#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "container.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID_UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define ID_63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define ID_65 ID_A "0"
#define ID_NOHEX "0123456789abcdef0123456789abcdeg0123456789abcdef0123456789abcdef"
#define UID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define UID_ "0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"
#define UID_STATIC "9c4d0bd8e2f4a1b3c5d7e9f0a2b4c6d8"

#define KUBE_SLICE(qos) "/kubepods.slice/kubepods-" qos ".slice/kubepods-" qos "-pod" UID_ ".slice"

/* Arrays, not pointers: Criterion hands parameters to a separately started
 * worker, where pointers into this process's string literals mean nothing. */
struct ctr_case {
	char path[320];
	enum container_runtime runtime;
	char id[CONTAINER_ID_LEN + 1];		/* "": plain */
	char label[8];				/* "": the short id, or the path when plain */
	char pod_uid[CONTAINER_POD_UID_MAX + 1];	/* "": none */
	enum container_qos qos;
};

#define CTR(p, rt, i) { .path = (p), .runtime = (rt), .id = (i) }
#define POD(p, rt, i, u, q) { .path = (p), .runtime = (rt), .id = (i), .pod_uid = (u), .qos = (q) }
#define PLAIN(p) { .path = (p), .runtime = CONTAINER_PLAIN, .id = "" }

static struct ctr_case ctr_cases[] = {
	/* docker */
	CTR("/docker/" ID_A, CONTAINER_DOCKER, ID_A),
	CTR("/system.slice/docker-" ID_A ".scope", CONTAINER_DOCKER, ID_A),
	/* containerd without Kubernetes (nerdctl namespaces) */
	CTR("/default/" ID_A, CONTAINER_CONTAINERD, ID_A),
	CTR("/k8s.io/" ID_B, CONTAINER_CONTAINERD, ID_B),
	/* Kubernetes, cgroupfs driver, all three QoS classes and a static pod */
	POD("/kubepods/burstable/pod" UID "/" ID_A, CONTAINER_CONTAINERD, ID_A, UID,
	    CONTAINER_QOS_BURSTABLE),
	POD("/kubepods/besteffort/pod" UID "/" ID_A, CONTAINER_CONTAINERD, ID_A, UID,
	    CONTAINER_QOS_BESTEFFORT),
	POD("/kubepods/pod" UID "/" ID_B, CONTAINER_CONTAINERD, ID_B, UID,
	    CONTAINER_QOS_GUARANTEED),
	POD("/kubepods/pod" UID_STATIC "/" ID_B, CONTAINER_CONTAINERD, ID_B, UID_STATIC,
	    CONTAINER_QOS_GUARANTEED),
	POD("/kubepods/burstable/pod" UID "/crio-" ID_A, CONTAINER_CRIO, ID_A, UID,
	    CONTAINER_QOS_BURSTABLE),
	/* Kubernetes, systemd driver */
	POD(KUBE_SLICE("burstable") "/cri-containerd-" ID_A ".scope", CONTAINER_CONTAINERD, ID_A,
	    UID, CONTAINER_QOS_BURSTABLE),
	POD(KUBE_SLICE("besteffort") "/cri-containerd-" ID_A ".scope", CONTAINER_CONTAINERD, ID_A,
	    UID, CONTAINER_QOS_BESTEFFORT),
	POD("/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID_B ".scope",
	    CONTAINER_CONTAINERD, ID_B, UID, CONTAINER_QOS_GUARANTEED),
	POD(KUBE_SLICE("burstable") "/crio-" ID_A ".scope", CONTAINER_CRIO, ID_A, UID,
	    CONTAINER_QOS_BURSTABLE),
	POD(KUBE_SLICE("besteffort") "/docker-" ID_A ".scope", CONTAINER_DOCKER, ID_A, UID,
	    CONTAINER_QOS_BESTEFFORT),
	/* kind nests kubepods under a kubelet slice */
	POD("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	    "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID_A ".scope",
	    CONTAINER_CONTAINERD, ID_A, UID, CONTAINER_QOS_BESTEFFORT),
	/* a pod's own cgroup is not a container, but still a pod */
	{ .path = "/kubepods/burstable/pod" UID, .pod_uid = UID, .qos = CONTAINER_QOS_BURSTABLE },
	{ .path = KUBE_SLICE("besteffort"), .pod_uid = UID, .qos = CONTAINER_QOS_BESTEFFORT },
	PLAIN("/kubepods/burstable"),
	PLAIN("/kubepods.slice"),
	/* malformed pod UIDs are not pods */
	CTR("/kubepods/burstable/pod1234/" ID_A, CONTAINER_CONTAINERD, ID_A),
	CTR("/kubepods/burstable/pod" UID "0/" ID_A, CONTAINER_CONTAINERD, ID_A),
	/* found by fuzzing: a UID of the right length, bad near its end, left
	 * its valid head behind as the pod UID */
	CTR("/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fX/" ID_A,
	    CONTAINER_CONTAINERD, ID_A),
	CTR("/kubepods.slice/kubepods-pod9c4d0bd8e2f4a1b3c5d7e9f0a2b4c6dX.slice/" ID_A,
	    CONTAINER_CONTAINERD, ID_A),
	/* "pod..." outside kubepods is just a directory name */
	CTR("/pod" UID "/" ID_A, CONTAINER_CONTAINERD, ID_A),
	/* cri-o, podman */
	CTR("/system.slice/crio-" ID_A ".scope", CONTAINER_CRIO, ID_A),
	CTR("/libpod-" ID_A ".scope", CONTAINER_PODMAN, ID_A),
	CTR("/machine.slice/libpod-" ID_A ".scope", CONTAINER_PODMAN, ID_A),
	CTR("/machine.slice/libpod-" ID_A ".scope/container", CONTAINER_PODMAN, ID_A),
	/* a user's delegated subtree names what it likes: never a host container,
	 * so not one whose id it copied (rootless containers show by path) */
	PLAIN("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_B ".scope"),
	PLAIN("/user.slice/user-1000.slice/user@1000.service/app.slice/docker-" ID_A ".scope"),
	PLAIN("/user.slice/user-1000.slice/user@1000.service/" ID_A),
	PLAIN("/system.slice/ci-runner.service/docker-" ID_A ".scope"),
	PLAIN("/system.slice/ci-runner.service/kubepods/burstable/pod" UID "/" ID_A),
	/* a container's own subtree is delegated to it too: the outer one wins */
	CTR("/system.slice/docker-" ID_A ".scope/x.service/docker-" ID_B ".scope",
	    CONTAINER_DOCKER, ID_A),
	CTR("/libpod_parent/libpod-" ID_A, CONTAINER_PODMAN, ID_A),
	CTR("/libpod_parent/" ID_A, CONTAINER_PODMAN, ID_A),
	/* monitors next to containers are not the container */
	PLAIN("/machine.slice/libpod-conmon-" ID_A ".scope"),
	PLAIN("/system.slice/crio-conmon-" ID_A ".scope"),
	/* below a container: still that container; nested: the outermost */
	CTR("/docker/" ID_A "/child", CONTAINER_DOCKER, ID_A),
	CTR("/docker/" ID_A "/a/b/c/", CONTAINER_DOCKER, ID_A),
	CTR("/docker/" ID_A "/docker/" ID_B, CONTAINER_DOCKER, ID_A),
	CTR("//docker//" ID_A, CONTAINER_DOCKER, ID_A),
	/* systemd services, sessions, slices */
	PLAIN("/system.slice/nginx.service"),
	PLAIN("/system.slice/docker.service"),
	PLAIN("/user.slice/user-1000.slice/session-3.scope"),
	PLAIN("/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service"),
	PLAIN("/init.scope"),
	PLAIN("/process_api/a616270f64c006bf60c9b008fb77a161"),
	/* not container ids */
	PLAIN("/docker/" ID_UPPER),
	PLAIN("/docker/" ID_63),
	PLAIN("/docker/" ID_65),
	PLAIN("/docker/" ID_NOHEX),
	PLAIN("/system.slice/docker-" ID_63 ".scope"),
	PLAIN("/system.slice/docker-" ID_65 ".scope"),
	PLAIN("/system.slice/docker-" ID_A ".mount"),
	PLAIN("/system.slice/docker-" ID_A ".scope.bak"),
	PLAIN("/system.slice/docker-" ID_A),
	PLAIN("/system.slice/xdocker-" ID_A ".scope"),
	PLAIN("/docker/" ID_A "x"),
	PLAIN("garbage with spaces"),
	PLAIN("/a\nb/\x01\xff"),
	/* the root */
	{ .path = "/", .label = "/" },
	{ .path = "", .label = "/" },
	{ .path = "///", .label = "///" },
};

ParameterizedTestParameters(container, shapes)
{
	return cr_make_param_array(struct ctr_case, ctr_cases,
				   sizeof(ctr_cases) / sizeof(ctr_cases[0]));
}

ParameterizedTest(struct ctr_case *c, container, shapes)
{
	struct container_info info;
	char id[CONTAINER_ID_LEN + 1], label[4096], short_id[CONTAINER_LABEL_LEN + 1] = "";

	cr_assert_eq(container__info(c->path, &info), 0, "%s", c->path);
	cr_expect_eq(info.runtime, c->runtime, "%s: runtime %s", c->path,
		     container__runtime_name(info.runtime));
	cr_expect_str_eq(info.id, c->id, "%s", c->path);
	cr_expect_str_eq(info.pod_uid, c->pod_uid, "%s", c->path);
	cr_expect_eq(info.qos, c->qos, "%s: qos %s", c->path, container__qos_name(info.qos));

	cr_expect_eq(container__id(c->path, id, sizeof(id)), (int)c->runtime, "%s", c->path);
	cr_expect_str_eq(id, c->id, "%s", c->path);

	cr_assert_eq(container__label(c->path, label, sizeof(label)), 0, "%s", c->path);
	memcpy(short_id, c->id, CONTAINER_LABEL_LEN);
	cr_expect_str_eq(label, c->label[0] ? c->label : c->id[0] ? short_id : c->path, "%s",
			 c->path);
}

Test(container, label_too_small)
{
	char buf[CONTAINER_LABEL_LEN + 1];

	cr_expect_eq(container__label("/docker/" ID_A, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "0123456789ab");
	cr_expect_eq(container__label("/docker/" ID_A, buf, CONTAINER_LABEL_LEN), -ENOSPC);
	cr_expect_eq(container__label("/system.slice/nginx.service", buf, sizeof(buf)), -ENOSPC);
	cr_expect_eq(container__label("/docker/" ID_A, buf, 0), -ENOSPC);
}

Test(container, id_too_small)
{
	char id[CONTAINER_ID_LEN + 1];

	cr_expect_eq(container__id("/docker/" ID_A, id, CONTAINER_ID_LEN), -ENOSPC);
	cr_expect_eq(container__id("/docker/" ID_A, NULL, sizeof(id)), -EINVAL);
}

Test(container, null_args)
{
	struct container_info info;
	char buf[CONTAINER_ID_LEN + 1];

	cr_expect_eq(container__info(NULL, &info), -EINVAL);
	cr_expect_eq(container__info("/", NULL), -EINVAL);
	cr_expect_eq(container__id(NULL, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(container__label(NULL, buf, sizeof(buf)), -EINVAL);
}

Test(container, names)
{
	cr_expect_str_eq(container__runtime_name(CONTAINER_PLAIN), "plain");
	cr_expect_str_eq(container__runtime_name(CONTAINER_DOCKER), "docker");
	cr_expect_str_eq(container__runtime_name(CONTAINER_CONTAINERD), "containerd");
	cr_expect_str_eq(container__runtime_name(CONTAINER_CRIO), "cri-o");
	cr_expect_str_eq(container__runtime_name(CONTAINER_PODMAN), "podman");
	cr_expect_str_eq(container__runtime_name((enum container_runtime)99), "unknown");
	cr_expect_str_eq(container__qos_name(CONTAINER_QOS_NONE), "");
	cr_expect_str_eq(container__qos_name(CONTAINER_QOS_BESTEFFORT), "besteffort");
	cr_expect_str_eq(container__qos_name((enum container_qos)-1), "unknown");
}

/* A path far longer than any buffer must not be copied anywhere fixed-size. */
Test(container, huge_path)
{
	static char path[1 << 16];
	struct container_info info;
	char label[64];

	memset(path, 'a', sizeof(path) - 1);
	for (size_t i = 0; i < sizeof(path) - 1; i += 100)
		path[i] = '/';
	cr_expect_eq(container__info(path, &info), 0);
	cr_expect_eq(info.runtime, CONTAINER_PLAIN);
	cr_expect_eq(container__label(path, label, sizeof(label)), -ENOSPC);
}
