// SPDX-License-Identifier: Apache-2.0
#include "cli/format.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/rows.hpp"

namespace berth::cli {
namespace {

TEST(Format, HumanDuration) {
  EXPECT_EQ(human_duration(0), "Less than a second");
  EXPECT_EQ(human_duration(1), "1 second");
  EXPECT_EQ(human_duration(59), "59 seconds");
  EXPECT_EQ(human_duration(60), "About a minute");
  EXPECT_EQ(human_duration(119), "About a minute");
  EXPECT_EQ(human_duration(180), "3 minutes");
  EXPECT_EQ(human_duration(3599), "59 minutes");
  EXPECT_EQ(human_duration(3600), "About an hour");
  EXPECT_EQ(human_duration(5400), "2 hours");
  EXPECT_EQ(human_duration(47 * 3600), "47 hours");
  EXPECT_EQ(human_duration(48 * 3600), "2 days");
  EXPECT_EQ(human_duration(14 * 86400), "2 weeks");
  EXPECT_EQ(human_duration(60 * 86400), "2 months");
  EXPECT_EQ(human_duration(800 * 86400), "2 years");
  EXPECT_EQ(time_ago(1000, 1300), "5 minutes ago");
}

TEST(Format, Sizes) {
  EXPECT_EQ(human_size_prec(0, 3), "0B");
  EXPECT_EQ(human_size_prec(999, 3), "999B");
  EXPECT_EQ(human_size_prec(1000, 3), "1kB");
  EXPECT_EQ(human_size_prec(4268544, 3), "4.27MB");
  EXPECT_EQ(human_size_prec(1536, 4), "1.536kB");
  EXPECT_EQ(bytes_size(1536), "1.5KiB");
  EXPECT_EQ(bytes_size(67108864), "64MiB");
}

TEST(Format, Times) {
  std::int64_t ns = 0;
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:01:00Z"), 60);
  EXPECT_EQ(parse_rfc3339("2026-11-23T08:47:09.123456789Z", &ns), 1795423629);
  EXPECT_EQ(ns, 123456789);
  EXPECT_EQ(parse_rfc3339("2026-11-23T09:47:09+01:00"), 1795423629);
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(go_time_string(1795423629), "2026-11-23 08:47:09 +0000 UTC");
}

TEST(Format, Ids) {
  EXPECT_EQ(short_id("sha256:0123456789abcdef0123"), "0123456789ab");
  EXPECT_EQ(ellipsis("abcdefghijklmnopqrstuvwxyz", 20), "abcdefghijklmnopqrs…");
  EXPECT_EQ(ellipsis("short", 20), "short");
  EXPECT_EQ(go_quote("sh -c \"x\"\n"), "\"sh -c \\\"x\\\"\\n\"");
}

TEST(Format, Tabwriter) {
  // docker: minwidth 10, padding 3
  std::string t = tabwrite("A\tBB\tC\nxxxxxxxxxxxx\ty\tz\n");
  EXPECT_EQ(t, "A              BB        C\nxxxxxxxxxxxx   y         z\n");
}

TEST(Format, ListFormats) {
  auto f = parse_list_format("", kPsTable);
  EXPECT_TRUE(f.table);
  f = parse_list_format("json", kPsTable);
  EXPECT_FALSE(f.table);
  EXPECT_EQ(f.tmpl, "{{json .}}");
  f = parse_list_format("table {{.ID}}\\t{{.Names}}", kPsTable);
  EXPECT_TRUE(f.table);
  EXPECT_EQ(f.tmpl, "{{.ID}}\t{{.Names}}");
  auto out = render_list(f, {Json{{"ID", "abc"}, {"Names", "web"}}}, container_headers());
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "CONTAINER ID   NAMES\nabc            web\n");
}

TEST(Rows, Ports) {
  Json ports = Json::parse(R"([{"PrivatePort":80,"Type":"tcp"},{"PrivatePort":81,"Type":"tcp"},
    {"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"PrivatePort":53,"Type":"udp"},
    {"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}])");
  EXPECT_EQ(display_ports(ports), "53/udp, 80-81/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
  EXPECT_EQ(display_ports(Json::array()), "");
}

TEST(Rows, Container) {
  setenv("TZ", "UTC", 1);
  tzset();
  Json c = Json::parse(R"({"Id":"0123456789abcdef0123","Names":["/web"],"Image":"busybox",
    "Command":"sleep 1000000000000000000000","Created":1000,"State":"running","Status":"Up 5 minutes",
    "Ports":[],"Labels":{"a":"b"},"SizeRw":0,"Mounts":[]})");
  Json r = container_row(c, true, 1300);
  EXPECT_EQ(r["ID"], "0123456789ab");
  EXPECT_EQ(r["Names"], "web");
  EXPECT_EQ(r["Command"], "\"sleep 1000000000000…\"");
  EXPECT_EQ(r["RunningFor"], "5 minutes ago");
  EXPECT_EQ(r["Status"], "Up 5 minutes");
  EXPECT_EQ(r["Labels"], "a=b");
  EXPECT_EQ(r["Size"], "0B");
  EXPECT_EQ(r.dump(), R"({"Command":"\"sleep 1000000000000…\"","CreatedAt":"1970-01-01 00:16:40 +0000 UTC","ID":"0123456789ab","Image":"busybox","Labels":"a=b","LocalVolumes":"0","Mounts":"","Names":"web","Networks":"","Platform":null,"Ports":"","RunningFor":"5 minutes ago","Size":"0B","State":"running","Status":"Up 5 minutes"})");
}

TEST(Rows, Images) {
  Json img = Json::parse(R"({"Id":"sha256:aaaaaaaaaaaabbbb","RepoTags":["busybox:latest","localhost:5000/x/y:1"],
     "Created":1000,"Size":4268544,"SharedSize":-1,"Containers":-1})");
  auto rows = image_rows(img, true, false, 1000 + 86400 * 3);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["Repository"], "busybox");
  EXPECT_EQ(rows[0]["Tag"], "latest");
  EXPECT_EQ(rows[0]["ID"], "aaaaaaaaaaaa");
  EXPECT_EQ(rows[0]["Size"], "4.27MB");
  EXPECT_EQ(rows[0]["CreatedSince"], "3 days ago");
  EXPECT_EQ(rows[1]["Repository"], "localhost:5000/x/y");
  EXPECT_EQ(rows[1]["Tag"], "1");
  Json dangling = Json::parse(R"({"Id":"sha256:cc","RepoTags":[],"Created":1,"Size":1})");
  auto d = image_rows(dangling, true, false, 2);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["Repository"], "<none>");
  EXPECT_EQ(d[0]["Tag"], "<none>");
}

}  // namespace
}  // namespace berth::cli
