// Grows a std::vector of strings and a std::map from two functions, for the
// unwinder's tests: the pages are first touched inside libstdc++ and libc
// (operator new, the vector's reallocation copy, the map's node allocation),
// none of which keeps frame pointers, and the program is built with -O2.
//
// usage: cxxgrow [-g CGROUP_PROCS_FILE] [-l MIB_EACH] [-w START_FILE]
//                [-r READY_FILE] [-h HOLD_SECS]
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

static std::vector<std::string> kept_strings;
static std::map<long, std::array<char, 240>> kept_nodes;

__attribute__((noinline)) static void grow_vector(size_t bytes)
{
	for (size_t done = 0; done < bytes; done += 1000)
		kept_strings.emplace_back(1000, 'v');
}

__attribute__((noinline)) static void grow_map(size_t bytes)
{
	long key = 0;

	for (size_t done = 0; done < bytes; done += 256) {
		std::array<char, 240> v;

		v.fill('m');
		kept_nodes.emplace(key++, v);
	}
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		perror(path);
		exit(2);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *procs = nullptr, *start = nullptr, *ready = nullptr;
	size_t mib = 32;
	double hold = 0;
	char pid[32];
	int opt;

	while ((opt = getopt(argc, argv, "g:l:w:r:h:")) != -1) {
		switch (opt) {
		case 'g': procs = optarg; break;
		case 'l': mib = strtoul(optarg, nullptr, 10); break;
		case 'w': start = optarg; break;
		case 'r': ready = optarg; break;
		case 'h': hold = strtod(optarg, nullptr); break;
		default: return 2;
		}
	}
	if (procs) {
		snprintf(pid, sizeof(pid), "%d\n", getpid());
		write_file(procs, pid);
	}
	while (start && access(start, F_OK))
		usleep(10000);
	grow_vector(mib << 20);
	grow_map(mib << 20);
	if (ready)
		write_file(ready, "grown\n");
	usleep((useconds_t)(hold * 1e6));
	return 0;
}
