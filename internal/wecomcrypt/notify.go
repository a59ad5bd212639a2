package wecomcrypt

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// ProgramNotify is the decrypted message of 应用接收专区通知 (docs/wecom.md,
// "Telling the app"): the zone tells an app that a program called spec_notify_app.
//
//	<xml><ToUserName><![CDATA[corpid]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>
//	<CreateTime>unix</CreateTime><MsgType><![CDATA[event]]></MsgType>
//	<Event><![CDATA[program_notify]]></Event><NotifyId><![CDATA[…]]></NotifyId>
//	<NotifyScene>n</NotifyScene></xml>
type ProgramNotify struct {
	ToUserName   string // the corpid
	FromUserName string // "sys"
	CreateTime   int64  // unix seconds
	MsgType      string // "event"
	Event        string // "program_notify"
	NotifyID     string // for sync_call_program's notify_id; valid 10 minutes
	NotifyScene  int    // the program's notify_scene, 0…255
}

// The fixed values of a ProgramNotify.
const (
	NotifyFrom    = "sys"
	NotifyMsgType = "event"
	NotifyEvent   = "program_notify"
)

// MarshalXML writes p as WeCom does: root <xml>, strings in CDATA,
// CreateTime and NotifyScene as bare numbers.
func (p ProgramNotify) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	root := xml.StartElement{Name: xml.Name{Local: "xml"}}
	if err := e.EncodeToken(root); err != nil {
		return err
	}
	fields := []struct {
		name  string
		value string
		cdata bool
	}{
		{"ToUserName", p.ToUserName, true},
		{"FromUserName", p.FromUserName, true},
		{"CreateTime", strconv.FormatInt(p.CreateTime, 10), false},
		{"MsgType", p.MsgType, true},
		{"Event", p.Event, true},
		{"NotifyId", p.NotifyID, true},
		{"NotifyScene", strconv.Itoa(p.NotifyScene), false},
	}
	for _, f := range fields {
		start := xml.StartElement{Name: xml.Name{Local: f.name}}
		var err error
		if f.cdata {
			err = e.EncodeElement(cdata{f.value}, start)
		} else {
			err = e.EncodeElement(f.value, start)
		}
		if err != nil {
			return err
		}
	}
	if err := e.EncodeToken(root.End()); err != nil {
		return err
	}
	return e.Flush()
}

// EncodeProgramNotify returns the XML of a program_notify message.
func EncodeProgramNotify(corpID string, createTime int64, notifyID string, scene int) []byte {
	b, err := xml.Marshal(ProgramNotify{
		ToUserName:   corpID,
		FromUserName: NotifyFrom,
		CreateTime:   createTime,
		MsgType:      NotifyMsgType,
		Event:        NotifyEvent,
		NotifyID:     notifyID,
		NotifyScene:  scene,
	})
	if err != nil { // strings and numbers only: cannot happen
		panic("wecomcrypt: marshal ProgramNotify: " + err.Error())
	}
	return b
}

// notifyXML is the shape DecodeProgramNotify reads (CDATA or not).
type notifyXML struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   string   `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Event        string   `xml:"Event"`
	NotifyID     string   `xml:"NotifyId"`
	NotifyScene  string   `xml:"NotifyScene"`
}

// DecodeProgramNotify parses a decrypted callback message. A well-formed
// message that is not MsgType=event, Event=program_notify (an app's URL
// receives other messages too) is ErrNotNotify; malformed XML or numbers,
// or a missing NotifyId, is ErrXML.
func DecodeProgramNotify(msg []byte) (*ProgramNotify, error) {
	var x notifyXML
	if err := xml.Unmarshal(msg, &x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrXML, err)
	}
	if x.MsgType != NotifyMsgType || x.Event != NotifyEvent {
		return nil, fmt.Errorf("%w: MsgType %q, Event %q", ErrNotNotify, x.MsgType, x.Event)
	}
	p := &ProgramNotify{
		ToUserName:   x.ToUserName,
		FromUserName: x.FromUserName,
		MsgType:      x.MsgType,
		Event:        x.Event,
		NotifyID:     x.NotifyID,
	}
	if p.NotifyID == "" {
		return nil, fmt.Errorf("%w: program_notify without NotifyId", ErrXML)
	}
	var err error
	if s := strings.TrimSpace(x.CreateTime); s != "" {
		if p.CreateTime, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("%w: CreateTime %q", ErrXML, x.CreateTime)
		}
	}
	if s := strings.TrimSpace(x.NotifyScene); s != "" {
		if p.NotifyScene, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("%w: NotifyScene %q", ErrXML, x.NotifyScene)
		}
	}
	return p, nil
}
