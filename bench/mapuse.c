#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "mapuse.h"

/* Keys hashed per walk: far more than any table memscope sizes. */
#define MAX_WALK	(1u << 24)

uint32_t mapuse__parse_fdinfo(FILE *f)
{
	char line[256];
	unsigned long id;

	while (fgets(line, sizeof(line), f)) {
		char *end;

		if (strncmp(line, "map_id:", 7))
			continue;
		errno = 0;
		id = strtoul(line + 7, &end, 10);
		if (errno || end == line + 7 || id > UINT32_MAX)
			return 0;
		return (uint32_t)id;
	}
	return 0;
}

/* The map's keys, counted; key_size bytes each. */
static int count_keys(int fd, uint32_t key_size, uint32_t *n)
{
	char *key = malloc(key_size), *next = malloc(key_size);
	void *prev = NULL;
	int rc = 0;

	*n = 0;
	if (!key || !next) {
		rc = -ENOMEM;
		goto out;
	}
	while (*n < MAX_WALK && bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		++*n;
	}
	if (errno != ENOENT && *n < MAX_WALK)
		rc = -errno;
out:
	free(key);
	free(next);
	return rc;
}

/* Use of map id when it is named name: 0; 1 when it is another map (or went
 * away meanwhile); -errno. */
static int try_map(uint32_t id, const char *name, struct map_use *out)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(id), rc = 1;

	if (fd < 0)
		return 1;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    !strncmp(info.name, name, sizeof(info.name))) {
		out->max_entries = info.max_entries;
		rc = count_keys(fd, info.key_size, &out->entries);
	}
	close(fd);
	return rc;
}

int mapuse__read(const char *proc_root, pid_t pid, const char *name, struct map_use *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	int rc = -ENOENT;
	DIR *d;

	memset(out, 0, sizeof(*out));
	if (snprintf(dir, sizeof(dir), "%s/%d/fdinfo", proc_root, (int)pid) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (rc == -ENOENT && (de = readdir(d))) {
		uint32_t id;
		int found;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		id = mapuse__parse_fdinfo(f);
		fclose(f);
		if (id && (found = try_map(id, name, out)) <= 0)
			rc = found;
	}
	closedir(d);
	return rc;
}
