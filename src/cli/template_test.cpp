// SPDX-License-Identifier: Apache-2.0
#include "cli/template.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace berth::cli {
namespace {

std::string run(const std::string& t, const Json& dot) {
  auto p = Template::parse(t);
  if (!p) return "PARSE ERROR: " + p.error().message();
  auto r = p->execute(dot);
  if (!r) return "EXEC ERROR: " + r.error().message();
  return *r;
}

const Json kCtr = Json::parse(R"({"Id":"abc","Name":"/web","State":{"Status":"running","Pid":42,"Running":true},
  "Config":{"Env":["A=1","B=2"],"Labels":{"b":"2","a":"1"},"Tty":false},"Mounts":[],"Num":1.5,"Null":null})");

TEST(Template, Fields) {
  EXPECT_EQ(run("{{.Id}}", kCtr), "abc");
  EXPECT_EQ(run("{{.State.Status}} {{.State.Pid}}", kCtr), "running 42");
  EXPECT_EQ(run("x{{.Missing}}y", kCtr), "x<no value>y");
  // Go field names of docker's types differ from the JSON keys only in case.
  EXPECT_EQ(run("{{.ID}} {{.state.status}}", kCtr), "abc running");
  EXPECT_EQ(run("{{.Server.APIVersion}}", Json::parse(R"({"Server":{"ApiVersion":"1.47"}})")), "1.47");
  EXPECT_EQ(run("{{.Null}}", kCtr), "<nil>");
  EXPECT_EQ(run("{{.Num}}", kCtr), "1.5");
  EXPECT_EQ(run("{{.State.Running}}", kCtr), "true");
  EXPECT_EQ(run("{{.Config.Env}}", kCtr), "[A=1 B=2]");
  EXPECT_EQ(run("{{.Config.Labels}}", kCtr), "map[a:1 b:2]");
  EXPECT_EQ(run("{{.Mounts}}", kCtr), "[]");
}

TEST(Template, Json) {
  EXPECT_EQ(run("{{json .State}}", kCtr), R"({"Status":"running","Pid":42,"Running":true})");
  EXPECT_EQ(run("{{json .Config.Env}}", kCtr), R"(["A=1","B=2"])");
  EXPECT_EQ(run("{{json .Id}}", kCtr), R"("abc")");
  EXPECT_EQ(run("{{json .Mounts}}", kCtr), "[]");
  // The rows' Label method, on a joined Labels string and on a Labels object.
  auto row = Json::parse(R"({"Labels":"tier=db,k=,x=a=b","Config":{"Labels":{"tier":"web"}}})");
  EXPECT_EQ(run("{{.Label \"tier\"}}|{{.Label \"k\"}}|{{.Label \"x\"}}|{{.Label \"none\"}}", row), "db||a=b|");
  EXPECT_EQ(run("{{.Config.Label \"tier\"}}", row), "web");
  // docker's template `json` does not escape HTML characters (SetEscapeHTML(false)).
  auto odd = Json::parse(R"({"D":"<none> & \u2028"})");
  EXPECT_EQ(run("{{json .D}}", odd), "\"<none> & \u2028\"");
  EXPECT_EQ(go_json_marshal(odd["D"]), R"("\u003cnone\u003e \u0026 \u2028")");
  EXPECT_EQ(run("{{printf \"%q\" .D}}", odd).substr(0, 9), R"("<none> &)");
}

TEST(Template, Functions) {
  EXPECT_EQ(run("{{join .Config.Env \",\"}}", kCtr), "A=1,B=2");
  EXPECT_EQ(run("{{lower \"ABC\"}} {{upper .Id}} {{title \"hello world\"}}", kCtr), "abc ABC Hello World");
  EXPECT_EQ(run("{{.Name | lower}}", kCtr), "/web");
  EXPECT_EQ(run("{{len .Config.Env}}", kCtr), "2");
  EXPECT_EQ(run("{{index .Config.Env 1}}", kCtr), "B=2");
  EXPECT_EQ(run("{{index .Config.Labels \"a\"}}", kCtr), "1");
  EXPECT_EQ(run("{{split \"a:b:c\" \":\"}}", kCtr), "[a b c]");
  EXPECT_EQ(run("{{truncate .Name 2}}", kCtr), "/w");
  EXPECT_EQ(run("{{pad .Id 1 2}}|", kCtr), " abc  |");
  EXPECT_EQ(run("{{printf \"%s-%d\" .Id .State.Pid}}", kCtr), "abc-42");
  EXPECT_EQ(run("{{printf \"%q\" .Id}}", kCtr), "\"abc\"");
  EXPECT_EQ(run("{{(index .Config.Env 0) | lower}}", kCtr), "a=1");
}

TEST(Template, Control) {
  EXPECT_EQ(run("{{range .Config.Env}}[{{.}}]{{end}}", kCtr), "[A=1][B=2]");
  EXPECT_EQ(run("{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}", kCtr), "0=A=1 1=B=2 ");
  EXPECT_EQ(run("{{range $k, $v := .Config.Labels}}{{$k}}{{$v}}{{end}}", kCtr), "a1b2");
  EXPECT_EQ(run("{{range .Mounts}}x{{else}}none{{end}}", kCtr), "none");
  EXPECT_EQ(run("{{if .State.Running}}up{{else}}down{{end}}", kCtr), "up");
  EXPECT_EQ(run("{{if eq .State.Status \"exited\"}}a{{else if eq .State.Pid 42}}b{{else}}c{{end}}", kCtr), "b");
  EXPECT_EQ(run("{{with .State}}{{.Pid}}{{end}}", kCtr), "42");
  EXPECT_EQ(run("{{if and .State.Running (not .Config.Tty)}}ok{{end}}", kCtr), "ok");
  EXPECT_EQ(run("{{$x := .Id}}<{{$x}}>", kCtr), "<abc>");
  EXPECT_EQ(run("{{range .Config.Env}}{{$.Id}}{{end}}", kCtr), "abcabc");
}

TEST(Template, TrimMarkersAndComments) {
  EXPECT_EQ(run("a  {{- .Id -}}  b", kCtr), "aabcb");
  EXPECT_EQ(run("a{{/* comment */}}b", kCtr), "ab");
  EXPECT_EQ(run("{{.Id}}\t{{.Name}}", kCtr), "abc\t/web");
}

TEST(Template, Errors) {
  EXPECT_FALSE(Template::parse("{{.Id"));
  EXPECT_FALSE(Template::parse("{{if .Id}}x"));
  EXPECT_FALSE(Template::parse("{{end}}"));
  auto t = Template::parse("{{nosuch .Id}}");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->execute(kCtr));
}

TEST(Template, HeaderMode) {
  auto t = Template::parse("{{.ID}}\t{{lower .Name}}\t{{json .Labels}}");
  ASSERT_TRUE(t);
  auto r = t->execute(Json{{"ID", "CONTAINER ID"}, {"Name", "NAME"}, {"Labels", "LABELS"}}, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "CONTAINER ID\tNAME\tLABELS");
}

}  // namespace
}  // namespace berth::cli
